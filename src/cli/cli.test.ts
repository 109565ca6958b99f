/**
 * The `sealtrail` command as users run it: the built executable, spawned with real stdin/stdout.
 * Proofs it prints are checked by an independent verifier (sigstore-js).
 */
import { spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyTLogInclusion } from '@sigstore/verify/dist/tlog/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateNoteKey, NoteSigner, signNote, verifyConsistency } from '../chain/index.js';
import { KeyRing } from '../keys/index.js';
import { decodeLine } from '../read/index.js';
import { selfSignedCert, tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';

const bin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function run(args: string[], input?: string | Buffer, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, SEALTRAIL_QUIET: '1', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const HOSTILE = 'esc\x1b[2J cr\r nul\0 rlo\u202e zw\u200b bom\ufeff ls\u2028 del\x7f c1\x85';

describe('sealtrail', () => {
  const dir = path.join(root, 'audit');
  let created: { origin: string; verifierKey: string; sealSeed: string };

  beforeAll(() => {
    const r = run(['init', '--dir', dir, '--origin', 'example.test/trail', '--json']);
    expect(r.stderr).toBe('');
    created = JSON.parse(r.stdout);
    const events = [
      { type: 'model.request', actor: { id: 'u1' }, content: { prompt: 'hello' } },
      { type: 'tool.call', actor: { id: 'u1' }, content: { toolArgs: { q: 1 } } },
      { type: 'guardrail.decision', outcome: 'blocked', guardrails: [{ name: 'pii', decision: 'block' }] },
      {
        type: 'x.probe',
        actor: { id: `evil${HOSTILE}` },
        content: { prompt: HOSTILE },
        meta: { note: HOSTILE },
      },
    ];
    const a = run(
      ['append', '--dir', dir, '--durable'],
      `${events.map((e) => JSON.stringify(e)).join('\n')}\n`,
    );
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(a.stdout.trim().split('\n')).toHaveLength(4);
  });

  describe('init', () => {
    it('prints origin, verifier key and seal seed as JSON', () => {
      expect(created.origin).toBe('example.test/trail');
      expect(created.verifierKey).toMatch(/^example\.test\/trail\+[0-9a-f]{8}\+/);
      expect(created.sealSeed).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('refuses to overwrite a trail: one line on stderr, exit 2', () => {
      const r = run(['init', '--dir', dir]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/already exists/);
    });

    it('makes a directory created beforehand private (0700), and every file in it 0600', () => {
      const d = path.join(root, 'made-before');
      fs.mkdirSync(d, { mode: 0o755 });
      fs.chmodSync(d, 0o755);
      expect(run(['init', '--dir', d]).code).toBe(0);
      expect(fs.statSync(d).mode & 0o777).toBe(0o700);
      for (const f of fs.readdirSync(d, { recursive: true, withFileTypes: true })) {
        const mode = fs.statSync(path.join(f.parentPath, f.name)).mode & 0o777;
        expect(mode).toBe(f.isDirectory() ? 0o700 : 0o600);
      }
    });
  });

  describe('errors', () => {
    it('are one visible line on stderr, whatever the input they quote', () => {
      const r = run(['retention', 'hold', 'remove', '--dir', dir, '--id', 'case\x1b[2J\nforged line']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('sealtrail: no legal hold with id case\\x1b[2J\\x0aforged line\n');
    });
  });

  describe('messages name what the user typed', () => {
    it.each([
      [['tail', '-n', 'abc'], 'sealtrail: -n: expected a non-negative integer'],
      // a number too large is not called "not a non-negative integer"
      [
        ['query', '--limit', '1'.repeat(16)],
        'sealtrail: --limit: expected at most 999999999999999, got 16 digits',
      ],
      [['query', '--seq-from', '5', '--seq-to', '2'], 'sealtrail: --seq-to: must be greater than --seq-from'],
      [
        ['query', '--since', 'lastHour', '--from', '2026-01-01'],
        'sealtrail: --since: give --since or --from, not both',
      ],
      [
        ['query', '--from', '2026-01-01T00:00:00Z', '--to', '2025-01-01T00:00:00Z'],
        'sealtrail: --to: must be later than --from',
      ],
      // checked even when the conversation has no entries to check with it
      [
        ['conversation', 'no-such-conversation', '--key', 'bogus'],
        'sealtrail: verifier key: not a C2SP Ed25519 key',
      ],
      [['prove', '--seq', '0', '--id', 'x'], 'sealtrail: prove: give --seq N or --id ID, not both'],
      [
        ['verify', '--against', ''],
        'sealtrail: --against: expected a file, directory or URL, got an empty string',
      ],
    ])('%j', (args, message) => {
      const r = run([...args, '--dir', dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`${message}\n`);
    });

    it('verify --against a file that is not a signed note is a usage error naming it, not a failed check', () => {
      const notNote = path.join(dir, 'trail.json');
      const r = run(['verify', '--dir', dir, '--against', notNote]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`sealtrail: --against ${notNote}: not a signed checkpoint note\n`);
      expect(run(['verify', '--dir', dir, '--against', path.join(dir, 'checkpoint')]).code).toBe(0);
    });

    it('verify --against a checkpoint a witness cosigned (two signature lines) checks it', () => {
      const note = fs.readFileSync(path.join(dir, 'checkpoint'), 'utf8');
      const body = note.slice(0, note.indexOf('\n\n') + 1);
      const witness = signNote(body, NoteSigner.fromSkey(generateNoteKey('witness.example/w1').skey));
      const cosigned = path.join(root, 'cosigned-checkpoint');
      fs.writeFileSync(cosigned, note + witness.slice(witness.indexOf('\n\n') + 2));
      const r = run(['verify', '--dir', dir, '--against', cosigned]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });

    it('an option that takes one value, given twice, is refused instead of the last winning', () => {
      const r = run(['query', '--dir', dir, '--format', 'csv', '--format', 'json']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('sealtrail: query: --format given more than once\n');
      const d = path.join(root, 'repeated-multiple');
      run(['init', '--dir', d]);
      // options that take several values still may (the read is recorded in d, not the shared trail)
      expect(run(['query', '--dir', d, '--type', 'x.a', '--type', 'x.b', '--format', 'jsonl']).code).toBe(0);
    });

    it('no verb: the usage on stderr, exit 2; --help: on stdout, exit 0', () => {
      const none = run([]);
      expect(none.code).toBe(2);
      expect(none.stdout).toBe('');
      expect(none.stderr).toMatch(/^usage: sealtrail/);
      const help = run(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^usage: sealtrail/);
    });

    it('token list refuses a --dir that does not exist instead of listing nothing', () => {
      const d = path.join(root, 'no-such-trail');
      const r = run(['token', 'list', '--dir', d]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^sealtrail: --dir: no trail or key directory at /);
      expect(fs.existsSync(d)).toBe(false);
    });

    it('reads SEALTRAIL_DIR as audit.enable() does: trimmed', () => {
      const padded = run(['status', '--json'], undefined, { SEALTRAIL_DIR: ` ${dir}\n` });
      expect(padded.code).toBe(0);
    });

    it('init --content hash says at once when no master key is configured for the trail yet', () => {
      const bare = path.join(root, 'init-hash-no-key');
      const r = run(['init', '--dir', bare, '--content', 'hash'], undefined, { SEALTRAIL_KEY: '' });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(
        `sealtrail: note: content hash needs a master key, and none is configured yet: run 'sealtrail keys init --dir ${bare}' or set SEALTRAIL_KEY before writing\n`,
      );
      const keyed = path.join(root, 'init-hash-key');
      const k = run(['init', '--dir', keyed, '--content', 'hash'], undefined, {
        SEALTRAIL_KEY: 'ab'.repeat(32),
      });
      expect(k.code).toBe(0);
      expect(k.stderr).toBe('');
    });

    it('refuses a key replaced under the id the trail used, writing and matching (exit 2, naming the id)', () => {
      const d = path.join(root, 'replaced-key');
      const first = { SEALTRAIL_KEY: `k1:${'ab'.repeat(32)}` };
      const replaced = { SEALTRAIL_KEY: `k1:${'cd'.repeat(32)}` };
      expect(run(['init', '--dir', d, '--content', 'hash'], undefined, first).code).toBe(0);
      const event = '{"type":"model.request","content":{"prompt":"same text"}}\n';
      expect(run(['append', '--dir', d], event, first).code).toBe(0);
      const [entry] = run(
        ['query', '--dir', d, '--type', 'model.request', '--format', 'jsonl'],
        undefined,
        first,
      )
        .stdout.split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { id: string });
      const match = ['match', '--dir', d, '--id', entry!.id, '--field', 'prompt'];
      expect(run(match, 'same text', first).code).toBe(0);
      for (const r of [run(match, 'same text', replaced), run(['append', '--dir', d], event, replaced)]) {
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(
          /^sealtrail: key k1 \(from env\) is not the key this trail has used under that id, as .*key-checks\.json records/,
        );
        expect(r.stderr.split('\n')).toHaveLength(2);
        expect(r.stderr).not.toContain('cd'.repeat(32));
      }
    });

    it('init --content hash with a malformed SEALTRAIL_KEY creates the trail and still shows the seal seed', () => {
      const bad = path.join(root, 'init-hash-bad-key');
      const r = run(['init', '--dir', bad, '--content', 'hash', '--json'], undefined, {
        SEALTRAIL_KEY: 'bogus',
      });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).sealSeed).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(r.stderr).toMatch(
        /^sealtrail: note: content hash needs a master key: SEALTRAIL_KEY: expected 32 bytes/,
      );
      expect(r.stderr).not.toContain('bogus');
    });

    it('init names the variable a bad SEALTRAIL_CONTENT or SEALTRAIL_ORIGIN came from, and creates nothing', () => {
      const d = path.join(root, 'init-from-env');
      for (const [env, message] of [
        [{ SEALTRAIL_CONTENT: 'hashed' }, 'sealtrail: SEALTRAIL_CONTENT: expected hash, encrypt or plain'],
        [
          { SEALTRAIL_ORIGIN: 'my trail' },
          'sealtrail: SEALTRAIL_ORIGIN: expected letters, digits and . _ ~ : / @ - (max 255)',
        ],
      ] as const) {
        const r = run(['init', '--dir', d], undefined, env);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(`${message}\n`);
        expect(fs.existsSync(d)).toBe(false);
      }
      expect(run(['init', '--dir', d, '--origin', 'my trail']).stderr).toMatch(/^sealtrail: --origin: /);
    });

    it('init reads an empty SEALTRAIL_CONTENT or SEALTRAIL_ORIGIN as unset, as audit.enable() does', () => {
      const d = path.join(root, 'init-empty-env');
      const r = run(['init', '--dir', d, '--json'], undefined, {
        SEALTRAIL_CONTENT: '',
        SEALTRAIL_ORIGIN: ' ',
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(fs.readFileSync(path.join(d, 'trail.json'), 'utf8')).content).toBe('plain');
    });

    it('init shows a path with control characters visibly', () => {
      const d = path.join(root, 'esc\x1b]0;title\x07dir');
      const r = run(['init', '--dir', d]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('esc\\x1b]0;title\\x07dir');
      expect(r.stdout).not.toMatch(/[\x1b\x07]/);
    });
  });

  describe('append', () => {
    it('stops at a line that is not JSON, naming it, and keeps the lines before', () => {
      const d = path.join(root, 'append-bad');
      run(['init', '--dir', d]);
      const r = run(['append', '--dir', d], '{"type":"x.ok"}\n{"type":\n');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^sealtrail: stdin line 2: not valid JSON\n$/);
      expect(r.stdout).toMatch(/^\S+\n$/);
      expect(run(['verify', '--dir', d, '--json']).stdout).toMatch(/"entries":1\b/);
    });

    it('refuses a record the trail writes about itself (an expiry that would explain erased payloads)', () => {
      const d = path.join(root, 'append-own');
      run(['init', '--dir', d]);
      const r = run(['append', '--dir', d], '{"type":"x.ok"}\n{"type":"retention.content_expired"}\n');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^sealtrail: stdin line 2: type: retention\.content_expired is recorded by the trail itself/,
      );
      expect(run(['verify', '--dir', d, '--json']).stdout).toMatch(/"entries":1\b/);
    });

    it('refuses bytes that are not UTF-8 instead of recording them replaced; a byte order mark is dropped', () => {
      const d = path.join(root, 'append-not-utf8');
      run(['init', '--dir', d]);
      const bad = Buffer.concat([
        Buffer.from('{"type":"x.a","action":"ab'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('cd"}\n'),
      ]);
      const r = run(['append', '--dir', d], bad);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('sealtrail: stdin line 1: not valid UTF-8\n');
      const bom = run(['append', '--dir', d], '\ufeff{"type":"x.bom"}\n');
      expect(bom.stderr).toBe('');
      expect(bom.code).toBe(0);
      expect(run(['verify', '--dir', d, '--json']).stdout).toMatch(/"entries":1\b/);
      // the lines before a bad one are recorded, and the message names its line
      const third = Buffer.concat([
        Buffer.from('{"type":"x.a"}\n{"type":"x.b"}\n{"type":"x.c","action":"'),
        Buffer.from([0xff]),
        Buffer.from('"}\n'),
      ]);
      const r3 = run(['append', '--dir', d], third);
      expect(r3.code).toBe(2);
      expect(r3.stderr).toBe('sealtrail: stdin line 3: not valid UTF-8\n');
      expect(r3.stdout.trim().split('\n')).toHaveLength(2);
      expect(run(['verify', '--dir', d, '--json']).stdout).toMatch(/"entries":3\b/);
    });

    it('keeps an 8 MiB line that arrives in many chunks', () => {
      const d = path.join(root, 'append-long');
      run(['init', '--dir', d]);
      // 8 MiB in one line: 256 strings of 32 KiB (each under the 64 KiB string limit)
      const meta = Object.fromEntries(
        Array.from({ length: 256 }, (_, i) => [`k${i}`, `${i}`.padEnd(32 * 1024, 'A')]),
      );
      const r = run(['append', '--dir', d], `${JSON.stringify({ type: 'x.long', meta })}\n`);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const stored = JSON.parse(run(['query', '--dir', d, '--type', 'x.long', '--format', 'jsonl']).stdout);
      expect(stored.meta).toEqual(meta);
    });

    it('refuses an integer JSON.parse would round, naming line and field, instead of recording it changed', () => {
      const d = path.join(root, 'append-big');
      run(['init', '--dir', d]);
      const r = run(
        ['append', '--dir', d],
        '{"type":"x.a","meta":{"n":9007199254740991}}\n{"type":"x.b","meta":{"n":12345678901234567890}}\n',
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^sealtrail: stdin line 2: meta\.n: an integer beyond ±\(2\^53-1\) cannot be kept exactly/,
      );
      expect(r.stdout).toMatch(/^\S+\n$/);
      expect(run(['query', '--dir', d, '--type', 'x.a', '--format', 'jsonl']).stdout).toContain(
        '"n":9007199254740991',
      );
    });

    it('prints the ids of the lines recorded before a bad line in the same chunk, durably too', () => {
      const d = path.join(root, 'append-bad-durable');
      run(['init', '--dir', d]);
      const r = run(['append', '--dir', d, '--durable'], '{"type":"x.a"}\n{"type":"x.b"}\n{"type":"nope"}\n');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/stdin line 3: .*type/);
      const ids = r.stdout.trim().split('\n');
      expect(ids).toHaveLength(2);
      const stored = run(['query', '--dir', d, '--format', 'jsonl']).stdout.trim().split('\n');
      expect(stored.map((l) => JSON.parse(l).id).sort()).toEqual([...ids].sort());
    });

    it('keeps multi-byte characters that straddle the chunks stdin arrives in', () => {
      const d = path.join(root, 'append-utf8');
      run(['init', '--dir', d]);
      // ~1 MB of 3- and 4-byte characters at shifting offsets: pipe reads end inside some of them.
      const events = Array.from({ length: 6 }, (_, i) => ({
        type: 'x.utf8',
        meta: Object.fromEntries(
          Array.from({ length: 8 }, (_, j) => [`p${j}`, `${'a'.repeat(i + j)}${'€😀'.repeat(3000)}`]),
        ),
      }));
      const r = run(['append', '--dir', d], `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
      expect(r.stderr).toBe('');
      const stored = run(['query', '--dir', d, '--format', 'jsonl']).stdout.trim().split('\n');
      expect(stored.map((l) => JSON.parse(l).meta).reverse()).toEqual(events.map((e) => e.meta));
    });

    it('names the invalid field of an event', () => {
      const d = path.join(root, 'append-field');
      run(['init', '--dir', d]);
      const r = run(['append', '--dir', d], '{"type":"model.completion","usage":{"inputTokens":"many"}}\n');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/stdin line 1: .*usage\.inputTokens/);
    });

    it('fails with exit 2 when the directory holds no trail', () => {
      const r = run(['append', '--dir', path.join(root, 'nothing')], '{"type":"x.a"}\n');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no trail/);
    });
  });

  describe('when the reader of stdout goes away (| head)', () => {
    it('stops quietly, exits 0 and still records the read; export says it was cut', () => {
      const d = path.join(root, 'epipe');
      run(['init', '--dir', d]);
      const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ type: 'x.n', meta: { n: i } }));
      expect(run(['append', '--dir', d], `${lines.join('\n')}\n`).code).toBe(0);
      const piped = (args: string[]) =>
        spawnSync(
          'bash',
          [
            '-c',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash script, not a template
            '"$0" "$@" | head -c 100 >/dev/null; exit "${PIPESTATUS[0]}"',
            process.execPath,
            bin,
            ...args,
          ],
          {
            encoding: 'utf8',
            env: { ...process.env, SEALTRAIL_QUIET: '1' },
          },
        );
      for (const args of [
        ['query', '--dir', d, '--format', 'jsonl'],
        ['tail', '--dir', d, '-n', '5000'],
      ]) {
        const r = piped(args);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
      }
      const cut = piped(['export', '--dir', d, '--format', 'jsonl']);
      expect(cut.stderr).toBe(
        'sealtrail: stdout: closed before the export was complete; no manifest written\n',
      );
      const reads = run(['query', '--dir', d, '--type', 'audit.read', '--format', 'jsonl'])
        .stdout.trim()
        .split('\n');
      const verbs = reads.map((l) => JSON.parse(l).meta);
      expect(verbs.find((m) => m.verb === 'query')?.count).toBeLessThan(5000);
      expect(verbs.find((m) => m.verb === 'export')).toMatchObject({ outputClosed: true });
    });

    it('a write error on stdout (a full disk) is one line on stderr and exit 2, not a stack trace; the read is still recorded', () => {
      const d = path.join(root, 'enospc');
      run(['init', '--dir', d]);
      expect(run(['append', '--dir', d], '{"type":"x.n"}\n').code).toBe(0);
      const full = fs.openSync('/dev/full', 'w');
      try {
        for (const args of [
          ['query', '--dir', d, '--format', 'jsonl'],
          ['tail', '--dir', d],
          ['status', '--dir', d],
        ]) {
          const r = spawnSync(process.execPath, [bin, ...args], {
            encoding: 'utf8',
            stdio: ['ignore', full, 'pipe'],
            env: { ...process.env, SEALTRAIL_QUIET: '1' },
          });
          expect(r.stderr).toBe('sealtrail: stdout: ENOSPC: no space left on device, write\n');
          expect(r.status).toBe(2);
        }
      } finally {
        fs.closeSync(full);
      }
      const reads = run(['query', '--dir', d, '--type', 'audit.read', '--format', 'jsonl']).stdout;
      expect(reads).toContain('"verb":"query"');
      // A verb that ends with exit 1 (here tail, having skipped a damaged line) keeps it when its
      // output cannot be written either.
      const seg = path.join(d, 'segments', fs.readdirSync(path.join(d, 'segments'))[0]!);
      const lines = fs.readFileSync(seg, 'utf8').split('\n');
      // damaged where a reader sees it but a writer does not (it reads a line's end), so that the read
      // can still be recorded
      const first = lines[0]!;
      fs.writeFileSync(
        seg,
        [`{damaged${first.slice(first.indexOf(',"prev":'))}`, ...lines.slice(1)].join('\n'),
      );
      const out = fs.openSync('/dev/full', 'w');
      try {
        const r = spawnSync(process.execPath, [bin, 'tail', '--dir', d], {
          encoding: 'utf8',
          stdio: ['ignore', out, 'pipe'],
          env: { ...process.env, SEALTRAIL_QUIET: '1' },
        });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/skipped unreadable line at seq 0[\s\S]*stdout: ENOSPC/);
      } finally {
        fs.closeSync(out);
      }
    });
  });

  describe('verify', () => {
    it('exits 0 with the seal seed and the verifier key', () => {
      const r = run([
        'verify',
        '--dir',
        dir,
        // With `=`: a seed may start with '-', which a separate argument cannot.
        `--seal-seed=${created.sealSeed}`,
        '--key',
        created.verifierKey,
        '--json',
      ]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, entries: 4 });
    });

    it('exits 1 naming the first failing seq when an entry was changed', () => {
      const d = path.join(root, 'tampered');
      fs.cpSync(dir, d, { recursive: true });
      const seg = path.join(d, 'segments', fs.readdirSync(path.join(d, 'segments'))[0]!);
      fs.writeFileSync(seg, fs.readFileSync(seg, 'utf8').replace('"tool.call"', '"tool.cull"'));
      const r = run(['verify', '--dir', d]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/integrity failure at seq 1 .*LEAF_HASH_MISMATCH/);
    });

    it('rejects an unknown option with exit 2', () => {
      const r = run(['verify', '--dir', dir, '--bogus']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--bogus/);
    });
  });

  describe('checkpoint', () => {
    it('prints a C2SP signed note for the whole trail', () => {
      const r = run(['checkpoint', '--dir', dir]);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toBe('example.test/trail');
      expect(lines[1]).toBe('4');
      expect(lines[4]).toMatch(/^\u2014 example\.test\/trail [A-Za-z0-9+/=]+$/);
    });

    it('refuses to print a checkpoint file the trail key did not sign (exit 1)', () => {
      const d = path.join(root, 'garbage-checkpoint');
      run(['init', '--dir', d]);
      fs.writeFileSync(path.join(d, 'checkpoint'), 'garbage\n');
      const r = run(['checkpoint', '--dir', d]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
    });

    it('prints the latest signed checkpoint, not an older one copied into the checkpoint file', () => {
      const d = path.join(root, 'replayed-checkpoint');
      run(['init', '--dir', d]);
      run(['append', '--dir', d], '{"type":"x.a"}\n');
      const older = fs.readFileSync(path.join(d, 'checkpoint'), 'utf8');
      run(['append', '--dir', d], '{"type":"x.b"}\n');
      const latest = fs.readFileSync(path.join(d, 'checkpoint'), 'utf8');
      expect(latest.split('\n')[1]).toBe('2');
      fs.writeFileSync(path.join(d, 'checkpoint'), older);
      const r = run(['checkpoint', '--dir', d]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(latest);
    });

    it('prints the signed empty tree of a trail just made, and prove then names the missing entry', () => {
      const d = path.join(root, 'fresh-checkpoint');
      run(['init', '--dir', d, '--origin', 'example.test/fresh']);
      const r = run(['checkpoint', '--dir', d]);
      expect(r.code).toBe(0);
      // size 0, and the root of the empty tree: SHA-256 of nothing
      expect(r.stdout.split('\n').slice(0, 3)).toEqual([
        'example.test/fresh',
        '0',
        '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
      ]);
      const p = run(['prove', '--dir', d, '--seq', '0']);
      expect(p.code).toBe(2);
    });
  });

  describe('prove', () => {
    function sigstoreCheck(doc: {
      index: number;
      treeSize: number;
      leaf: string;
      hashes: string[];
      checkpoint: string;
    }) {
      // vkey = name+hash+base64(0x01 || key); the base64 part may itself contain '+'.
      const [, hintHex, b64] = /^[^+]+\+([0-9a-f]{8})\+(.+)$/.exec(created.verifierKey)!;
      const raw = Buffer.from(b64!, 'base64');
      const publicKey = createPublicKey({
        key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]),
        format: 'der',
        type: 'spki',
      });
      const hint = Buffer.from(hintHex!, 'hex');
      const authority = {
        logID: Buffer.concat([hint, Buffer.alloc(28)]),
        publicKey,
        baseURL: created.origin,
        validFor: { start: new Date(0), end: new Date(8.64e15) },
      };
      const entry = {
        logIndex: String(doc.index),
        canonicalizedBody: Buffer.from(doc.leaf, 'base64'),
        inclusionProof: {
          logIndex: String(doc.index),
          treeSize: String(doc.treeSize),
          rootHash: Buffer.from(doc.checkpoint.split('\n')[2]!, 'base64'),
          hashes: doc.hashes.map((h) => Buffer.from(h, 'base64')),
          checkpoint: { envelope: doc.checkpoint },
        },
      };
      verifyTLogInclusion(entry as never, [authority as never]);
    }

    it('prints a proof that sigstore-js accepts for every entry', () => {
      for (let seq = 0; seq < 4; seq++) {
        const r = run(['prove', '--dir', dir, '--seq', String(seq), '--json']);
        expect(r.code).toBe(0);
        const doc = JSON.parse(r.stdout);
        expect(doc).toMatchObject({ origin: 'example.test/trail', index: seq, treeSize: 4 });
        expect(() => sigstoreCheck(doc)).not.toThrow();
      }
    });

    it('gives proofs that sigstore-js rejects once tampered', () => {
      const doc = JSON.parse(run(['prove', '--dir', dir, '--seq', '1', '--json']).stdout);
      const leaf = Buffer.from(doc.leaf, 'base64');
      leaf[10] = leaf[10]! ^ 1;
      expect(() => sigstoreCheck({ ...doc, leaf: leaf.toString('base64') })).toThrow();
      const h = Buffer.from(doc.hashes[0], 'base64');
      h[0] = h[0]! ^ 1;
      expect(() =>
        sigstoreCheck({ ...doc, hashes: [h.toString('base64'), ...doc.hashes.slice(1)] }),
      ).toThrow();
      const cp = doc.checkpoint.replace('\n4\n', '\n5\n');
      expect(() => sigstoreCheck({ ...doc, checkpoint: cp })).toThrow();
    });

    it('finds an entry by id', () => {
      const id = decodeLine(
        fs
          .readFileSync(path.join(dir, 'segments', fs.readdirSync(path.join(dir, 'segments'))[0]!), 'utf8')
          .split('\n')[2]!,
      ).id;
      const doc = JSON.parse(run(['prove', '--dir', dir, '--id', id, '--json']).stdout);
      expect(doc.index).toBe(2);
    });

    it('fails with exit 2 for an entry that does not exist', () => {
      const r = run(['prove', '--dir', dir, '--seq', '99']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  });

  describe('consistency', () => {
    it('prints a proof that the earlier tree is a prefix of the later one', () => {
      const r = run(['consistency', '--dir', dir, '--from', '2', '--json']);
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({ size1: 2, size2: 4 });
      const b = (s: string) => Buffer.from(s, 'base64');
      expect(() => verifyConsistency(2, 4, doc.hashes.map(b), b(doc.root1), b(doc.root2))).not.toThrow();
    });
  });

  describe('hostile values', () => {
    it('are stored escaped: no raw control, bidi or zero-width code point in any segment file', () => {
      const segDir = path.join(dir, 'segments');
      for (const f of fs.readdirSync(segDir)) {
        const text = fs.readFileSync(path.join(segDir, f), 'utf8');
        const lines = text.split('\n');
        expect(lines.at(-1)).toBe('');
        for (const line of lines) {
          expect(line).not.toMatch(
            /[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\u2028\u2029]/,
          );
        }
      }
    });

    it('read back exactly as given', () => {
      const seg = path.join(dir, 'segments', fs.readdirSync(path.join(dir, 'segments'))[0]!);
      const entry = decodeLine(fs.readFileSync(seg, 'utf8').split('\n')[3]!);
      expect(entry.content?.prompt).toBe(HOSTILE);
      expect((entry.meta as { note: string }).note).toBe(HOSTILE);
      expect((entry.actor as { id: string }).id).toBe(`evil${HOSTILE}`);
      expect(entry.flagged).toContain('actor.id');
    });

    it('are rendered visibly by tail, never raw', () => {
      // every entry: reads by the tests before append audit.read entries after the hostile one
      const r = run(['tail', '--dir', dir, '-n', '100']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('\\x1b');
      expect(r.stdout).not.toMatch(/[\x1b\r\0\u202e\u200b\ufeff\u2028]/);
    });

    it('are escaped in JSON output, the value unchanged', () => {
      const r = run(['tail', '--dir', dir, '-n', '100', '--json']);
      expect(r.code).toBe(0);
      // JSON.stringify leaves DEL, C1 controls, bidi and zero-width code points raw.
      expect(r.stdout).not.toMatch(
        /[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\u2028\u2029]/,
      );
      const entry = r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l))
        .find((e) => e.actor?.id === `evil${HOSTILE}`);
      expect(entry.content.prompt).toBe(HOSTILE);
      expect(entry.actor.id).toBe(`evil${HOSTILE}`);
    });

    it.each([
      ['query', ['query', '--type', 'x.probe', '--format', 'csv']],
      ['export', ['export', '--type', 'x.probe', '--format', 'csv']],
    ])(
      'are rendered visibly in CSV that %s writes to a terminal, and kept exact in CSV written to a file',
      (_, verb) => {
        const args = [...verb, '--dir', dir];
        // A real terminal: script(1) runs the command on a pseudo-terminal (stderr, where export's
        // progress bar draws, set aside).
        const command = `${[process.execPath, bin, ...args].join(' ')} 2>/dev/null`;
        const tty = spawnSync('script', ['-qec', command, '/dev/null'], {
          encoding: 'utf8',
          env: { ...process.env, SEALTRAIL_QUIET: '1' },
        });
        expect(tty.status).toBe(0);
        expect(tty.stdout).toContain('evilesc\\x1b[2J cr\\x0d nul\\x00 rlo\\u{202e}');
        expect(tty.stdout).not.toMatch(/[\x1b\0\u202e\u200b\ufeff\u2028\x7f\x85]/);
        const file = run(args);
        expect(file.stdout).toContain(`evil${HOSTILE}`);
      },
    );
  });

  describe('options checked before anything is made', () => {
    it.each([
      [['serve', '--port', 'abc'], /--port: expected a non-negative integer/],
      [['serve', '--port', '99999'], /--port: expected 0 to 65535/],
      [['serve', '--max-batch', '0'], /--max-batch: expected a positive integer/],
      [['serve', '--body-limit', '0'], /--body-limit: expected a positive integer/],
      [
        ['verify', '--seal-seed', '-abc'],
        /--seal-seed: a value starting with '-' must be given as --seal-seed=VALUE$/m,
      ],
    ])('%j: one line, exit 2, no trail or token created', (args, message) => {
      const d = path.join(root, `made-nothing-${args.join('-')}`);
      const r = run([...args, '--dir', d]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(fs.existsSync(d)).toBe(false);
    });

    it("serve refuses a TLS file that holds no certificate or key, or a key not the certificate's, naming option and file", () => {
      const d = path.join(root, 'made-nothing-tls');
      const pem = (name: string) => path.join(root, `tls-${name}.pem`);
      for (const n of ['1', '2']) {
        expect(selfSignedCert(pem(`key${n}`), pem(`cert${n}`))).toBe(true);
      }
      fs.writeFileSync(pem('text'), 'not a pem file\n');
      for (const [cert, key, message] of [
        ['text', 'key1', `sealtrail: --tls-cert ${pem('text')}: not a PEM certificate`],
        ['cert1', 'text', `sealtrail: --tls-key ${pem('text')}: not an unencrypted PEM private key`],
        ['cert1', 'key2', `sealtrail: --tls-key ${pem('key2')}: not the key of the --tls-cert certificate`],
      ]) {
        const r = run(['serve', '--dir', d, '--port', '0', '--tls-cert', pem(cert!), '--tls-key', pem(key!)]);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe(`${message}\n`);
        expect(fs.existsSync(d)).toBe(false);
      }
    });

    it('serve closes the trail it opened when it cannot listen (port in use)', async () => {
      const d = path.join(root, 'serve-port-in-use');
      const busy = net.createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      try {
        const port = (busy.address() as AddressInfo).port;
        const r = run(['serve', '--dir', d, '--port', String(port)]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/EADDRINUSE/);
        expect(fs.existsSync(path.join(d, 'writer.lock'))).toBe(false);
        // the trail it created: its seal seed is shown, as by init, or it would be lost
        const seed = /^seal seed .*: (\S+)$/m.exec(r.stdout)?.[1];
        expect(seed).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(run(['verify', '--dir', d, `--seal-seed=${seed}`]).code).toBe(0);
      } finally {
        busy.close();
      }
    });

    it('refuses an empty --dir instead of using the current directory', () => {
      for (const verb of ['init', 'verify', 'query']) {
        const r = run([verb, '--dir', '']);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe('sealtrail: --dir: expected a path, got an empty string\n');
      }
    });
  });

  describe('demo', () => {
    it('records a conversation, verifies it and prints the checkpoint', () => {
      const d = path.join(root, 'demo');
      const r = run(['demo', '--dir', d]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/verify: ok, 7 entries/);
      expect(r.stdout).toMatch(/\u2014 /);
      expect(run(['demo', '--dir', d]).stdout).toMatch(/verify: ok, 14 entries/); // again: its own trail
      // and events `serve --demo` seeded count as the demo's
      const seeded = path.join(root, 'demo-seeded');
      run(['init', '--dir', seeded]);
      run(['append', '--dir', seeded], '{"type":"x.seed","meta":{"producer":"demo"}}\n');
      expect(run(['demo', '--dir', seeded]).code).toBe(0);
    });

    it('does not write its made-up conversation into a trail with real events', () => {
      const d = path.join(root, 'demo-real');
      run(['init', '--dir', d]);
      expect(run(['append', '--dir', d], '{"type":"x.real","actor":{"id":"alice"}}\n').code).toBe(0);
      const r = run(['demo', '--dir', d]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^sealtrail: demo: .* holds a trail with events the demo did not record/);
      expect(run(['verify', '--dir', d, '--json']).stdout).toMatch(/"entries":1\b/);
    });
  });

  describe('erase', () => {
    it("erases a subject's payloads, keeps the trail verifiable and records the erasure", () => {
      const d = path.join(root, 'erase');
      expect(run(['init', '--dir', d]).code).toBe(0);
      const events = [
        { type: 'model.request', actor: { id: 'alice' }, content: { prompt: 'alice private words' } },
        { type: 'model.request', actor: { id: 'bob' }, content: { prompt: 'bob words' } },
      ];
      expect(
        run(['append', '--dir', d, '--durable'], events.map((e) => JSON.stringify(e)).join('\n')).code,
      ).toBe(0);
      const r = run(['erase', '--dir', d, '--subject', 'alice', '--reason', 'request 42', '--json']);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ entries: 1, fields: 1 });
      expect(run(['verify', '--dir', d]).code).toBe(0);
      const segments = path.join(d, 'segments');
      for (const f of fs.readdirSync(segments))
        expect(fs.readFileSync(path.join(segments, f), 'utf8')).not.toContain('alice private words');
      expect(run(['tail', '--dir', d, '-n', '1', '--json']).stdout).toContain('"audit.erasure"');
      // the tail before is recorded (audit.read): the erased entry is now the fourth newest
      expect(run(['tail', '--dir', d, '-n', '4']).stdout).toMatch(/ alice +erased=prompt\n/);
    });

    it("erases the subject's content from torn lines crash recovery set aside, and names those it cannot read", () => {
      const d = path.join(root, 'erase-quarantine');
      run(['init', '--dir', d]);
      const events = [
        { type: 'x.a', actor: { id: 'alice' }, content: { prompt: 'alice private words' } },
        { type: 'x.b', actor: { id: 'bob' }, content: { prompt: 'bob words' } },
      ];
      run(['append', '--dir', d, '--durable'], events.map((e) => JSON.stringify(e)).join('\n'));
      const segment = path.join(d, 'segments', fs.readdirSync(path.join(d, 'segments'))[0]!);
      const [alice, bob] = fs.readFileSync(segment, 'utf8').split('\n');
      // A crash after a garbled stretch: a whole copy of alice's entry (out of sequence), bob's, a
      // line whose record cannot be read, and alice's entry cut short inside its payloads.
      const cut = alice!.slice(0, alice!.indexOf('alice private') + 'alice priv'.length);
      fs.appendFileSync(segment, `${alice}\n${bob}\nnot a record\t{"prompt":"unknown"}\n${cut}`);
      run(['append', '--dir', d], '{"type":"x.c"}\n'); // recovery moves the torn tail aside
      const quarantine = path.join(d, 'quarantine');
      const [file] = fs.readdirSync(quarantine);
      expect(fs.readFileSync(path.join(quarantine, file!), 'utf8')).toContain('alice priv');

      const r = run(['erase', '--dir', d, '--subject', 'alice', '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        entries: 1,
        fields: 1,
        quarantine: { erased: 2, unreadable: 1 },
      });
      expect(r.stderr).toMatch(
        /^sealtrail: note: .*quarantine holds 1 torn line\(s\) with content whose entry cannot be read, which erasure left as they were; inspect and delete them\n$/,
      );
      const torn = fs.readFileSync(path.join(quarantine, file!), 'utf8');
      expect(torn).not.toContain('alice priv');
      expect(torn).toContain('bob words'); // another subject's torn line is left
      expect(torn).toContain('not a record\t{"prompt":"unknown"}\n');
      expect(torn.split('\n')).toHaveLength(4); // the cut line still ends without a newline
      expect(fs.statSync(path.join(quarantine, file!)).mode & 0o777).toBe(0o600);
      expect(run(['verify', '--dir', d]).code).toBe(0);
      // Nothing left for a second erasure, and the note about the unreadable line stays.
      const again = run(['erase', '--dir', d, '--subject', 'alice']);
      expect(again.stdout).toBe(
        'erased 0 content fields in 0 entries; the erasure is recorded in the trail\n',
      );
      expect(again.stderr).toMatch(/holds 1 torn line/);
    });

    describe('while an application writes the trail', () => {
      it('is refused (TRAIL_LOCKED, exit 2) before anything is destroyed: the subject key and content stay', async () => {
        const d = path.join(root, 'erase-locked');
        const env = { SEALTRAIL_KEY: `k1:${'ab'.repeat(32)}` };
        const init = run(['init', '--dir', d, '--content', 'encrypt', '--json'], undefined, env);
        const { origin } = JSON.parse(init.stdout) as { origin: string };
        const keys = KeyRing.fromKeys([{ id: 'k1', key: Buffer.from('ab'.repeat(32), 'hex') }], {
          context: origin,
        });
        const app = await AuditTrail.open({ dir: d, keys, handleExit: false });
        try {
          app.emit({ type: 'model.request', actor: { id: 'alice' }, content: { prompt: 'alice words' } });
          await app.flush();
          const subjects = path.join(d, 'keys', 'subjects');
          const before = fs.readdirSync(subjects).sort();
          expect(before.filter((f) => f !== 'index.key' && f.endsWith('.key'))).toHaveLength(1);

          const r = run(['erase', '--dir', d, '--subject', 'alice'], undefined, env);
          expect(r.code).toBe(2);
          expect(r.stderr).toMatch(/^sealtrail: .*by process \d+ \(lock file .*\)\n$/);
          expect(fs.readdirSync(subjects).sort()).toEqual(before); // no key destroyed, no .erased record
          // The application erases in its own process instead.
          expect(await app.eraseSubject('alice')).toEqual({ entries: 1, fields: 1 });
        } finally {
          await app.close();
        }
      });
    });

    it('needs --subject (one line on stderr, exit 2)', () => {
      const r = run(['erase', '--dir', dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('sealtrail: erase: --subject is required\n');
    });
  });

  describe('match', () => {
    it('tells whether a presented text is the one recorded in hash mode', () => {
      const d = path.join(root, 'hashed');
      const env = { SEALTRAIL_KEY: Buffer.alloc(32, 7).toString('base64') };
      expect(run(['init', '--dir', d, '--content', 'hash']).code).toBe(0);
      const event = { type: 'model.request', content: { prompt: 'the exact words' } };
      const a = run(['append', '--dir', d, '--durable'], JSON.stringify(event), env);
      expect(a.stderr).toBe('');
      const id = a.stdout.trim();
      expect(
        fs.readFileSync(
          fs.readdirSync(path.join(d, 'segments')).map((f) => path.join(d, 'segments', f))[0]!,
          'utf8',
        ),
      ).not.toContain('the exact words');
      expect(
        run(['match', '--dir', d, '--id', id, '--field', 'prompt'], 'the exact words\n', env),
      ).toMatchObject({
        code: 0,
        stdout: 'match\n',
      });
      expect(run(['match', '--dir', d, '--id', id, '--field', 'prompt'], 'other words', env)).toMatchObject({
        code: 1,
        stdout: 'no match\n',
      });
      // Each check is recorded as a read, with its answer and without the text presented.
      const reads = run(['query', '--dir', d, '--type', 'audit.read', '--format', 'jsonl'], undefined, env)
        .stdout.trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { meta: Record<string, unknown> })
        .filter((e) => e.meta.verb === 'match');
      expect(reads.map((e) => e.meta.matched)).toEqual([false, true]); // newest first
      expect(reads[1]!.meta.filter).toBe(JSON.stringify({ id, field: 'prompt' }));
      for (const f of fs.readdirSync(path.join(d, 'segments')))
        expect(fs.readFileSync(path.join(d, 'segments', f), 'utf8')).not.toMatch(
          /the exact words|other words/,
        );
      const noKey = run(['match', '--dir', d, '--id', id, '--field', 'prompt'], 'the exact words', {
        SEALTRAIL_KEY: '',
      });
      expect(noKey.code).toBe(2);
      expect(noKey.stderr.trim().split('\n')).toHaveLength(1);
      // bytes that are not UTF-8 are an input error, not a text that does not match
      const notText = run(
        ['match', '--dir', d, '--id', id, '--field', 'prompt'],
        Buffer.from([0x74, 0x68, 0x65, 0x20, 0xc3]),
        env,
      );
      expect(notText).toMatchObject({
        code: 2,
        stdout: '',
        stderr: 'sealtrail: stdin line 1: not valid UTF-8\n',
      });
    });

    it('matches structured content (tool arguments) given as JSON, in any key order', () => {
      const d = path.join(root, 'hashed-json');
      const env = { SEALTRAIL_KEY: Buffer.alloc(32, 7).toString('base64') };
      expect(run(['init', '--dir', d, '--content', 'hash']).code).toBe(0);
      const event = { type: 'tool.call', content: { toolArgs: { query: 'the exact words', limit: 3 } } };
      const id = run(['append', '--dir', d, '--durable'], JSON.stringify(event), env).stdout.trim();
      const match = (text: string) =>
        run(['match', '--dir', d, '--id', id, '--field', 'toolArgs'], text, env);
      expect(match('{"query":"the exact words","limit":3}\n')).toMatchObject({ code: 0, stdout: 'match\n' });
      expect(match('{ "limit": 3, "query": "the exact words" }')).toMatchObject({
        code: 0,
        stdout: 'match\n',
      });
      expect(match('{"query":"other words","limit":3}')).toMatchObject({ code: 1, stdout: 'no match\n' });
    });
  });
});
