/**
 * `sealtrail redact` as users run it: the built executable, spawned with real stdin and stdout.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fakeBody } from '../test-support/redaction.js';

const bin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));

function run(args: string[], input: string | Buffer) {
  const r = spawnSync(process.execPath, [bin, 'redact', ...args], {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const GITHUB = ['gh', 'p_', fakeBody(36, 5)].join('');

describe('sealtrail redact', () => {
  it('redacts text from stdin to stdout and keeps everything else byte for byte', () => {
    const input = `From: alice@example.com\r\nCall +1 415 555 2671\ttoken=${GITHUB}\nünïcödé ✓ no newline at end`;
    const r = run([], input);
    expect(r).toEqual({
      code: 0,
      stdout: 'From: [EMAIL]\r\nCall [PHONE]\ttoken=[SECRET:github]\nünïcödé ✓ no newline at end',
      stderr: '',
    });
  });

  it('passes clean text through unchanged, and empty input as empty output', () => {
    expect(run([], 'nothing to see here\n').stdout).toBe('nothing to see here\n');
    expect(run([], '')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('turns detectors off with --off', () => {
    const input = 'from 203.0.113.7 via 2001:db8::1, mail a@example.com';
    expect(run(['--off', 'ipv4,ipv6'], input).stdout).toBe('from 203.0.113.7 via 2001:db8::1, mail [EMAIL]');
    expect(run(['--off', 'ipv4', '--off', 'email'], input).stdout).toBe(
      'from 203.0.113.7 via [IP], mail a@example.com',
    );
  });

  it('refuses bytes that are not UTF-8 with exit 2 and one line naming the line, instead of changing them', () => {
    const input = Buffer.concat([
      Buffer.from('mail a@example.com\nkeep '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(' this'),
    ]);
    for (const args of [[], ['--json']]) {
      const r = run(args, input);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('sealtrail: stdin line 2: not valid UTF-8\n');
      expect(r.stdout).toBe('');
    }
  });

  it('refuses an unknown detector with exit 2 and one line naming it', () => {
    const r = run(['--off', 'emails'], 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('sealtrail: detectors.emails: unknown detector\n');
    expect(r.stdout).toBe('');
  });

  describe('--json', () => {
    it('redacts one JSON document, pretty-printed or not, to one line with its findings', () => {
      const event = {
        type: 'model.completion',
        actor: { id: 'alice@example.com', ip: '203.0.113.7' },
        usage: { inputTokens: 312 },
        content: { prompt: 'my card is 4111 1111 1111 1111', toolArgs: { apiKey: 'abc' } },
      };
      const r = run(['--json'], JSON.stringify(event, null, 2));
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toEqual({
        value: {
          ...event,
          content: { prompt: 'my card is [CARD]', toolArgs: { apiKey: '[SECRET:key]' } },
        },
        findings: [
          { path: 'content.prompt', kind: 'card', count: 1 },
          { path: 'content.toolArgs.apiKey', kind: 'secret:key', count: 1 },
        ],
        failed: false,
      });
      expect(r.stdout).not.toContain('4111');
    });

    it('redacts JSON lines, one output line per input line', () => {
      const r = run(['--json'], '{"meta":{"a":"x@example.com"}}\n\n"call 020 7946 0958"\n[1,2]\n');
      expect(r.code).toBe(0);
      expect(
        r.stdout
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual([
        {
          value: { meta: { a: '[EMAIL]' } },
          findings: [{ path: 'meta.a', kind: 'email', count: 1 }],
          failed: false,
        },
        { value: 'call [PHONE]', findings: [{ path: '', kind: 'phone', count: 1 }], failed: false },
        { value: [1, 2], findings: [], failed: false },
      ]);
    });

    it('refuses an integer it could not give back exactly, naming line and field', () => {
      const r = run(['--json'], '{"a":1}\n{"b":{"id":12345678901234567890}}\n');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^sealtrail: stdin line 2: b\.id: an integer beyond/);
      const whole = run(['--json'], '[1, 9007199254740993]');
      expect(whole.stderr).toMatch(/^sealtrail: stdin: \[1\]: an integer beyond/);
    });

    it('stops at a line that is not JSON with exit 2, naming the line', () => {
      const r = run(['--json'], '{"a":1}\n{"b":\n');
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('sealtrail: stdin line 2: not valid JSON\n');
    });
  });

  it('handles a megabyte of text', () => {
    const input = 'mail a@example.com and 9f86d081884c7d65 '.repeat(26_000);
    const r = run([], input);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('mail [EMAIL] and 9f86d081884c7d65 '.repeat(26_000));
  });

  it('prints its usage with --help, and rejects unknown options', () => {
    const h = run(['--help'], '');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^usage: sealtrail redact \[--json\]/);
    expect(h.stdout).toContain('"findings"');
    const bad = run(['--bogus'], '');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^sealtrail: redact: .*--bogus/);
  });
});
