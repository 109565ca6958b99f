import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeLine, verifyDir } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { trailDirs } from '../test-support/fixtures.js';

const dirs = trailDirs();
afterAll(() => dirs.cleanup());

// The child imports the built package, as an application would (npm test builds first).
const dist = new URL('../../dist/index.js', import.meta.url).href;
const KEY = '5a'.repeat(32);

function runChild(program: string, env: Record<string, string>): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', program], {
    env: { PATH: process.env.PATH ?? '', SEALTRAIL_QUIET: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** The meta of the events the process emitted (not the record of the keys a trail opened with). */
function readMeta(dir: string): unknown[] {
  return [...new DirSource(dir).lines()]
    .map((l) => decodeLine(l.text))
    .filter((e) => e.type !== 'system.keys_loaded')
    .map((e) => e.meta);
}

describe('a process using audit.enable()', () => {
  it('that emits and ends without closing loses nothing (production, SEALTRAIL_DIR)', async () => {
    const dir = dirs.root();
    runChild(
      `import { audit } from ${JSON.stringify(dist)};
       audit.enable();
       for (let i = 0; i < 200; i++) audit.emit({ type: 'x.exit', meta: { i } });`,
      { NODE_ENV: 'production', SEALTRAIL_DIR: dir, SEALTRAIL_KEY: KEY },
    );
    expect(readMeta(dir)).toEqual(Array.from({ length: 200 }, (_, i) => ({ i })));
    expect((await verifyDir(dir)).ok).toBe(true);
  });

  it('that calls process.exit() right after emitting loses nothing', async () => {
    const dir = dirs.root();
    runChild(
      `import { audit } from ${JSON.stringify(dist)};
       await audit.enable({ destination: ${JSON.stringify(dir)} });
       for (let i = 0; i < 50; i++) audit.modelCall({ model: 'm', prompt: 'p' + i, meta: { i } });
       process.exit(0);`,
      { NODE_ENV: 'development' },
    );
    expect(readMeta(dir)).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
  });

  it('in production refuses disable() with a clear error', () => {
    const dir = dirs.root();
    const out = runChild(
      `import { audit } from ${JSON.stringify(dist)};
       audit.enable();
       try { await audit.disable(); console.log('disabled'); }
       catch (err) { console.log(err.code + ': ' + err.message); }`,
      { NODE_ENV: 'production', SEALTRAIL_DIR: dir, SEALTRAIL_KEY: KEY },
    );
    expect(out).toMatch(/^USAGE: disable: the audit trail cannot be disabled in production/);
  });
});
