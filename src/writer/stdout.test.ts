/**
 * The stdout sink: a process that writes its trail to stdout as JSON lines, and exits without
 * calling close(). The collected stream holds every entry, a checkpoint and a seal, and the
 * entries verify against them with the announced key.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyTrail } from '../chain/index.js';
import { canonicalJson } from '../event/index.js';
import { decodeLine, verifyDir } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { tempDir } from '../test-support/fixtures.js';

const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

describe('AuditTrail with store "stdout"', () => {
  it('writes entries, checkpoints and seals as JSON lines that verify', () => {
    const program = `
      import { AuditTrail } from ${JSON.stringify(dist)};
      const trail = await AuditTrail.open({ store: 'stdout', origin: 'example.test/container' });
      for (let i = 0; i < 25; i++) {
        trail.emit({ type: 'tool.call', actor: { id: 'u' + i }, content: { toolArgs: { q: 'line\\u2028two\\x1b[2J', i } } });
      }
      trail.emit({ type: 'auth.failure', actor: { id: 'mallory' } });
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
    const docs = out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(docs.every((d) => d.sealtrail === 1)).toBe(true);
    const header = docs[0]!.trail as { origin: string; verifierKey: string };
    expect(header.origin).toBe('example.test/container');
    const records = docs.filter((d) => 'record' in d);
    expect(records).toHaveLength(26);
    expect(out).not.toMatch(/[\x1b\u2028]/);
    const lines = records.map((d) => {
      // Record and payloads were embedded unchanged; their canonical form gives back the stored bytes.
      const committed = canonicalJson(d.record);
      return {
        text: 'content' in d ? `${committed}\t${canonicalJson(d.content)}` : committed,
        file: 'stdout',
      };
    });
    const checkpoints = docs
      .filter((d) => 'checkpoint' in d)
      .map((d) => ({ note: d.checkpoint as string, source: 'stdout' }));
    expect(docs.some((d) => 'seal' in d)).toBe(true);
    const report = verifyTrail({
      origin: header.origin,
      verifierKey: header.verifierKey,
      lines,
      checkpoints,
      live: false,
    });
    expect(report.failure).toBeUndefined();
    expect(report).toMatchObject({ ok: true, entries: 26 });
  });
});

describe('AuditTrail with a directory and stdout: true, when stdout is gone', () => {
  it('stores each event once, says that the copy failed (on stderr and the diagnostics channel), and ends normally', async () => {
    const root = tempDir();
    try {
      const dir = path.join(root, 'audit');
      const script = fileURLToPath(new URL('../test-support/broken-stdout-writer.mjs', import.meta.url));
      const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy(); // the reader is gone: each write to stdout fails with EPIPE
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(err).toContain(
        'sealtrail: cannot copy stored entries to stdout (they are in the trail directory): cannot write to fd 1: EPIPE',
      );
      // published on the application's thread, though the copy failed on the writer's
      expect(err).toContain('diagnostics seen: copy failed');
      expect(code).toBe(0);
      const stored = [...new DirSource(dir).lines()]
        .map((l) => decodeLine(l.text))
        .filter((e) => e.type === 'x.mirror')
        .map((e) => (e.meta as { i: number }).i);
      expect(stored).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(verifyDir(dir).failure).toBeUndefined();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
