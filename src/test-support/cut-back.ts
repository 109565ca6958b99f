/**
 * The cut-back tests' set-up: a child process (cut-back-writer.mjs) whose write of a batch fails
 * part way while the part cannot be cut back (an append-only file), then succeeds.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whether files under `dir` can be made append-only here (root, a file system with the flag) and limits set. */
export function canSetAppendOnly(dir: string): boolean {
  fs.mkdirSync(dir, { recursive: true });
  const probe = path.join(dir, 'append-only-probe');
  fs.writeFileSync(probe, '');
  const set = spawnSync('chattr', ['+a', probe]).status === 0;
  if (set) spawnSync('chattr', ['-a', probe]);
  fs.rmSync(probe);
  return set && spawnSync('prlimit', ['--version']).status === 0;
}

/**
 * Runs the child in `mode` on `dir`, then clears the append-only flag of every file it left there
 * (so that the directory can be removed), and returns the child's exit status and stderr.
 */
export function runCutBackWriter(
  mode: 'thread' | 'segment-log' | 'segment-log-rotate' | 'segment-log-close',
  dir: string,
): { status: number | null; stderr: string } {
  const script = fileURLToPath(new URL('./cut-back-writer.mjs', import.meta.url));
  fs.mkdirSync(dir, { recursive: true });
  const child = spawnSync(process.execPath, [script, mode, dir], { encoding: 'utf8' });
  for (const f of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (fs.statSync(path.join(dir, f)).isFile()) spawnSync('chattr', ['-a', path.join(dir, f)]);
  }
  return { status: child.status, stderr: child.stderr };
}
