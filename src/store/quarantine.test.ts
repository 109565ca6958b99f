import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { trailDirs } from '../test-support/fixtures.js';
import { rewriteQuarantine } from './quarantine.js';

const dirs = trailDirs();
afterEach(() => dirs.cleanup());

describe('rewriteQuarantine', () => {
  it('rewrites only the lines the transform changes and keeps every other byte, even bytes that are not UTF-8', () => {
    const dir = dirs.fresh();
    fs.mkdirSync(dir, { recursive: true });
    const garbage = Buffer.from([0x00, 0x00, 0xff, 0xfe, 0x0a, 0xc3]); // zeros, invalid UTF-8, a cut sequence
    const file = path.join(dir, 'a.torn');
    fs.writeFileSync(
      file,
      Buffer.concat([Buffer.from('keep\nchange me\n'), garbage, Buffer.from('\nlast, cut')]),
    );
    const untouched = path.join(dir, 'b.torn');
    fs.writeFileSync(untouched, 'nothing to change\n');
    const before = fs.statSync(untouched).ino;

    const seen: string[] = [];
    const n = rewriteQuarantine(dir, (line) => {
      seen.push(line);
      return line.startsWith('change') || line.startsWith('last') ? `${line} [done]` : undefined;
    });

    expect(n).toBe(1);
    expect(seen).toContain('keep');
    expect(fs.readFileSync(file)).toEqual(
      Buffer.concat([Buffer.from('keep\nchange me [done]\n'), garbage, Buffer.from('\nlast, cut [done]')]),
    );
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(untouched).ino).toBe(before); // not rewritten
    expect(fs.readdirSync(dir).sort()).toEqual(['a.torn', 'b.torn']);
  });

  it('has nothing to do when nothing was ever quarantined', () => {
    expect(rewriteQuarantine(path.join(dirs.fresh(), 'quarantine'), () => 'x')).toBe(0);
  });
});
