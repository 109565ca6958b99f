import { describe, expect, it } from 'vitest';
import { inexactNumberPath } from './exact-json.js';

const pathIn = (text: string, prefix = '') => inexactNumberPath(JSON.parse(text), prefix);

describe('inexactNumberPath', () => {
  it('names the first integer JSON.parse rounded, by its path', () => {
    expect(pathIn('{"meta":{"ok":1,"n":12345678901234567890}}')).toBe('meta.n');
    expect(pathIn('[{"a":1},{"meta":{"list":[1,-9007199254740993]}}]', 'events')).toBe(
      'events[1].meta.list[1]',
    );
    expect(pathIn('{"n":1e20}')).toBe('n');
    expect(pathIn('{"n":9007199254740992}')).toBe('n');
  });

  it('writes names that are not identifiers as validation does: quoted, escaped and shortened', () => {
    expect(pathIn('{"meta":{"a.b":{"c":1e20}}}')).toBe('meta["a.b"].c');
    expect(pathIn('{"meta":{"\\u001b[2J\\u202e":1e20}}')).toBe('meta["\\u001b[2J\\u202e"]');
    const long = 'k-'.repeat(500);
    expect(pathIn(`{"meta":{"${long}":1e20}}`)).toBe(`meta["${'k-'.repeat(32)}…"]`);
  });

  it('passes safe integers, fractions, and long digit runs inside strings', () => {
    expect(pathIn('{"n":9007199254740991,"m":-9007199254740991}')).toBeUndefined();
    expect(pathIn('{"card":"4111111111111111","x":0.1000000000000000055511151231257827}')).toBeUndefined();
    expect(pathIn('{"x":1.5e-7,"y":2E+0}')).toBeUndefined();
  });

  it('looks 128 levels deep, and no deeper (validation refuses such nesting), without overflowing', () => {
    const nested = (n: number) => `${'['.repeat(n)}12345678901234567890${']'.repeat(n)}`;
    expect(pathIn(nested(127))).toBe('[0]'.repeat(127));
    expect(pathIn(nested(20_000))).toBeUndefined();
  });
});
