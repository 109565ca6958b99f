/**
 * The reading verbs as users run them: the built executable on a real trail. Formats, errors
 * naming the option, hostile characters in tables, erased payloads, a corrupt line, exports with
 * their manifest, and every read recorded in the trail (also while another process writes).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSegmentLines, segmentFiles, tempDir, writeSegmentLines } from '../test-support/fixtures.js';
import { FIXTURE_ENTRIES, fixtureEvent, parseCsv, writeFixtureTrail } from '../test-support/read-fixtures.js';
import { AuditTrail } from '../writer/index.js';

const bin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
const holder = fileURLToPath(new URL('../test-support/hold-writer.mjs', import.meta.url));
const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SEALTRAIL_QUIET: '1', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const HOSTILE = 'esc\x1b[2J cr\r rlo\u202e zw\u200b ls\u2028 del\x7f';

/** A copy of the fixture trail (each test group reads its own: reads append audit.read entries). */
let base: string;
let copies = 0;
function trailCopy(): string {
  const d = path.join(root, `copy-${copies++}`);
  fs.cpSync(base, d, { recursive: true });
  return d;
}

function jsonl(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  base = path.join(root, 'base');
  await writeFixtureTrail(base);
});

describe('sealtrail query', () => {
  it('prints matching entries as JSON lines, newest first', () => {
    const d = trailCopy();
    const r = run(['query', '--dir', d, '--type', 'tool.call', '--format', 'jsonl']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const seqs = jsonl(r.stdout).map((e) => e.seq);
    const want = Array.from({ length: FIXTURE_ENTRIES }, (_, h) => h)
      .filter((h) => fixtureEvent(h).type === 'tool.call')
      .reverse();
    expect(seqs).toEqual(want);
  });
  it('honours --from and --to in different zones, oldest first on request', () => {
    const d = trailCopy();
    const r = run([
      'query',
      '--dir',
      d,
      '--from',
      '2026-03-01T05:00:00+02:00',
      '--to',
      '2026-02-28T22:00:00-08:00',
      '--order',
      'oldest',
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ seq: number }>).map((e) => e.seq)).toEqual([3, 4, 5]);
  });
  it('prints CSV with a header and one record per entry', () => {
    const d = trailCopy();
    const r = run(['query', '--dir', d, '--outcome', 'blocked,failure', '--format', 'csv']);
    const rows = parseCsv(r.stdout);
    expect(rows[0]![0]).toBe('seq');
    expect(rows.slice(1).map((row) => row[20])).toEqual(
      Array.from({ length: FIXTURE_ENTRIES }, (_, h) => fixtureEvent(h).outcome)
        .filter((o) => o === 'blocked' || o === 'failure')
        .reverse(),
    );
  });
  it('names the bad option on one stderr line with exit 2', () => {
    const d = trailCopy();
    for (const [args, option] of [
      [['--from', '2026-03-01T10:00'], '--from'],
      [['--outcome', 'maybe'], '--outcome'],
      [['--seq-from', 'x'], '--seq-from'],
      [['--format', 'xml'], '--format'],
      [['--order', 'random'], '--order'],
    ] as const) {
      const r = run(['query', '--dir', d, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^sealtrail: ${option}: `));
    }
  });
  it('renders hostile characters visibly in the table and shows erased payloads as [erased]', async () => {
    const d = path.join(root, 'hostile');
    const trail = await AuditTrail.open({ dir: d, worker: false, handleExit: false });
    trail.emit({ type: 'x.probe', actor: { id: `evil${HOSTILE}` }, content: { prompt: HOSTILE } });
    trail.emit({
      type: 'model.request',
      actor: { id: 'u1' },
      content: { prompt: 'secret', response: 'kept' },
    });
    await trail.close();
    const file = segmentFiles(d)[0]!;
    const lines = readSegmentLines(file);
    const [committed, payloads] = lines[1]!.split('\t');
    const p = JSON.parse(payloads!) as Record<string, unknown>;
    p.prompt = { erased: { at: '2026-04-01T00:00:00.000Z', by: 99, reason: 'gdpr' } };
    lines[1] = `${committed}\t${JSON.stringify(p)}`;
    writeSegmentLines(file, lines);
    const r = run(['query', '--dir', d, '--type', 'x.probe,model.request']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\\x1b[2J');
    expect(r.stdout).toContain('\\u{202e}');
    expect(r.stdout).not.toMatch(/[\x1b\r\u202e\u200b\u2028\x7f]/);
    expect(r.stdout).toMatch(/prompt=\[erased\]/);
    expect(r.stdout).toMatch(/response="kept"/);
    expect(r.stdout).not.toContain('secret');
  });
  it('reports a corrupt line (seq, file, reason), prints the rest and exits 1', () => {
    const d = trailCopy();
    const file = segmentFiles(d)[1]!;
    const lines = readSegmentLines(file);
    lines[0] = 'not a record';
    writeSegmentLines(file, lines);
    const seq = Number(path.basename(file).slice(0, 20));
    const r = run([
      'query',
      '--dir',
      d,
      '--format',
      'jsonl',
      '--type',
      'model.*,tool.call,guardrail.decision,auth.failure,data.access',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `sealtrail: skipped unreadable line at seq ${seq} (${path.basename(file)}): record is not valid JSON\n`,
    );
    expect(jsonl(r.stdout)).toHaveLength(FIXTURE_ENTRIES - 1);
  });
});

describe('sealtrail export', () => {
  it('writes the file and a manifest whose count and sha256 match it', () => {
    const d = trailCopy();
    const file = path.join(root, 'export.csv');
    const r = run([
      'export',
      '--dir',
      d,
      '--format',
      'csv',
      '--out',
      file,
      '--type',
      'auth.failure',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(`${file}.manifest.json`, 'utf8'));
    expect(JSON.parse(r.stdout)).toEqual(manifest);
    const bytes = fs.readFileSync(file);
    expect(manifest).toMatchObject({
      format: 'sealtrail-export/1',
      entryFormat: 'csv',
      file: 'export.csv',
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      filter: { type: ['auth.failure'] },
      order: 'oldest',
      uncoveredEntries: 0,
      issueCount: 0,
    });
    expect(manifest.checkpoint).toMatchObject({ size: FIXTURE_ENTRIES, signatureVerified: true });
    const rows = parseCsv(bytes.toString('utf8'));
    expect(rows.length - 1).toBe(manifest.entries);
    expect(manifest.entries).toBe(8);
    expect(rows.slice(1).map((row) => Number(row[0]))).toEqual([4, 10, 16, 22, 28, 34, 40, 46]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
  it('escapes every dangerous first character in every field of a CSV export', async () => {
    const d = path.join(root, 'formulas');
    const trail = await AuditTrail.open({ dir: d, worker: false, handleExit: false });
    for (const p of ['=', '+', '-', '@', '\t', '\r']) {
      trail.emit({
        type: 'x.formula',
        actor: { id: `${p}1+1`, ip: `${p}cmd|' /C calc'!A0` },
        subject: `${p}SUM(A1:A9)`,
        action: `${p}HYPERLINK("http://evil.example")`,
        meta: { note: `${p}2` },
        content: { prompt: `${p}1` },
      });
    }
    await trail.close();
    const file = path.join(root, 'formulas.csv');
    expect(run(['export', '--dir', d, '--format', 'csv', '--out', file, '--type', 'x.formula']).code).toBe(0);
    const rows = parseCsv(fs.readFileSync(file, 'utf8')).slice(1);
    expect(rows).toHaveLength(6);
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    expect(rows.map((row) => row[6])).toEqual(["'=1+1", "'+1+1", "'-1+1", "'@1+1", "'\t1+1", "'\r1+1"]);
  });
  it('refuses an --out or --manifest inside the trail directory, which would overwrite recorded entries', () => {
    const d = trailCopy();
    const segment = segmentFiles(d)[0]!;
    const before = fs.readFileSync(segment);
    fs.symlinkSync(path.join(d, 'trail.json'), path.join(root, 'link-to-trail-json'));
    for (const [args, option, shown] of [
      [['export', '--format', 'jsonl', '--out', segment], 'out', segment],
      [
        ['export', '--format', 'csv', '--manifest', path.join(d, 'checkpoints.jsonl')],
        'manifest',
        path.join(d, 'checkpoints.jsonl'),
      ],
      [
        ['report', '--format', 'json', '--out', path.join(d, 'x', '..', 'trail.json')],
        'out',
        path.join(d, 'x', '..', 'trail.json'),
      ],
      [
        ['report', '--format', 'json', '--out', path.join(root, 'link-to-trail-json')],
        'out',
        path.join(root, 'link-to-trail-json'),
      ],
    ] as const) {
      const r = run([...args, '--dir', d]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `sealtrail: --${option}: ${shown} is inside the trail directory; write it elsewhere\n`,
      );
    }
    expect(fs.readFileSync(segment)).toEqual(before);
    expect(run(['verify', '--dir', d]).code).toBe(0);
    expect(run(['export', '--dir', d, '--format', 'jsonl', '--out', '']).stderr).toBe(
      'sealtrail: --out: expected a path, got an empty string\n',
    );
  });
  it('refuses a --manifest path the --out file would take, before reading anything', () => {
    const d = trailCopy();
    const file = path.join(root, 'same-path.jsonl');
    const linked = path.join(root, 'linked-root');
    fs.symlinkSync(root, linked);
    for (const [out, manifest] of [
      [file, file],
      [file, path.join(root, '.', 'same-path.jsonl')],
      // the export, renamed over the manifest's .partial, was then renamed to the manifest's name
      [`${file}.partial`, file],
      [file, `${file}.partial`],
      // the same directory through a symlink: both outputs would share one .partial file
      [file, path.join(linked, 'same-path.jsonl')],
    ]) {
      const r = run(['export', '--dir', d, '--format', 'jsonl', '--out', out!, '--manifest', manifest!]);
      expect(r.stderr).toBe(
        `sealtrail: --manifest: ${manifest} is where --out writes the export; give another path\n`,
      );
      expect(r.code).toBe(2);
    }
    expect(fs.readdirSync(root).filter((f) => f.startsWith('same-path'))).toEqual([]);
  });
  it('streams JSON to stdout and fails without --format', () => {
    const d = trailCopy();
    const r = run(['export', '--dir', d, '--format', 'json', '--seq-to', '10']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ seq: number }>).map((e) => e.seq)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    const bad = run(['export', '--dir', d]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--format/);
  });
  it('writes nothing when the manifest path cannot be written: no export file, no entry on stdout', () => {
    const d = trailCopy();
    const file = path.join(root, 'no-manifest.jsonl');
    const manifest = path.join(root, 'missing-dir', 'm.json');
    const dirManifest = path.join(root, 'no-manifest-is-a-dir');
    fs.mkdirSync(dirManifest);
    for (const [m, code] of [
      [manifest, 'ENOENT'],
      [dirManifest, 'EISDIR'],
    ] as const) {
      for (const args of [
        ['--out', file, '--manifest', m],
        ['--manifest', m],
      ]) {
        const r = run(['export', '--dir', d, '--format', 'jsonl', ...args]);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(`sealtrail: cannot write ${m}: ${code}\n`);
        expect(r.stdout).toBe('');
      }
    }
    expect(fs.readdirSync(root).filter((f) => f.startsWith('no-manifest'))).toEqual(['no-manifest-is-a-dir']);
  });
});

describe('reads are audited', () => {
  it('records who read, the verb, the filter and the count as audit.read', () => {
    const d = trailCopy();
    expect(
      run(['query', '--dir', d, '--actor', 'user-1', '--format', 'jsonl', '--as', 'auditor-ann']).code,
    ).toBe(0);
    const r = run(['query', '--dir', d, '--type', 'audit.read', '--format', 'jsonl', '--as', 'auditor-bob']);
    const reads = jsonl(r.stdout);
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({
      type: 'audit.read',
      category: 'compliance',
      action: 'query',
      actor: { id: 'auditor-ann' },
      meta: { verb: 'query', count: 12, format: 'jsonl', filter: JSON.stringify({ actor: ['user-1'] }) },
    });
    const v = run(['verify', '--dir', d, '--json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).entries).toBe(FIXTURE_ENTRIES + 2);
  });
  describe('while another process holds the writer lock', () => {
    let child: ChildProcess;
    let d: string;
    beforeAll(async () => {
      d = trailCopy();
      child = spawn(process.execPath, [holder, d], { stdio: ['pipe', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
      });
    });
    afterAll(() => child.kill());
    it('leaves the read in pending-reads/, and the next writer appends it', async () => {
      const r = run(['query', '--dir', d, '--type', 'tool.call', '--as', 'late-reader'], {
        SEALTRAIL_QUIET: '0',
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/pending-reads/);
      expect(fs.readdirSync(path.join(d, 'pending-reads'))).toHaveLength(1);
      child.stdin!.end();
      await new Promise((resolve) => child.once('exit', resolve));
      expect(fs.readdirSync(path.join(d, 'pending-reads'))).toHaveLength(1);
      // The next process to open the trail for writing appends it.
      const writer = await AuditTrail.open({ dir: d, worker: false, handleExit: false });
      await writer.close();
      const after = run([
        'query',
        '--dir',
        d,
        '--type',
        'audit.read',
        '--format',
        'jsonl',
        '--order',
        'oldest',
      ]);
      const reads = jsonl(after.stdout);
      expect(reads[0]).toMatchObject({
        actor: { id: 'late-reader' },
        meta: { verb: 'query', recordedLate: true },
      });
      expect(fs.readdirSync(path.join(d, 'pending-reads'))).toHaveLength(0);
      expect(run(['verify', '--dir', d]).code).toBe(0);
    });
  });
});

describe('sealtrail conversation and timeline', () => {
  let d: string;
  let convId: string;
  beforeAll(() => {
    d = path.join(root, 'demo');
    expect(run(['demo', '--dir', d]).code).toBe(0);
    const r = run(['query', '--dir', d, '--type', 'conversation.start', '--format', 'jsonl']);
    convId = (jsonl(r.stdout)[0]!.conversation as { id: string }).id;
  });
  it('prints the turns with prompts, tool calls, guardrails and each entry verified', () => {
    const r = run(['conversation', convId, '--dir', d]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /integrity: 7 verified against signed checkpoint \d+, 0 not yet checkpointed, 0 failed/,
    );
    expect(r.stdout).toMatch(
      /turn 1\n {2}#1 .* model\.request .*\[verified: in checkpoint \d+, content ok\]/,
    );
    expect(r.stdout).toMatch(/prompt: What is the weather in Paris/);
    expect(r.stdout).toMatch(/tool: get_weather\n\s+toolArgs: \{"city":"Paris"\}/);
    expect(r.stdout).toMatch(/guardrail secret-disclosure: block 0\.97 \(asks for a credential\)/);
    expect(r.stdout).toMatch(/response: It is 18/);
    const json = JSON.parse(run(['conversation', convId, '--dir', d, '--json']).stdout);
    expect(json.integrity).toEqual({ verified: 7, unsigned: 0, failed: 0 });
  });
  it('exits 1 and says FAILED for a changed entry', () => {
    const t = path.join(root, 'demo-tampered');
    fs.cpSync(d, t, { recursive: true });
    const file = segmentFiles(t)[0]!;
    writeSegmentLines(
      file,
      readSegmentLines(file).map((l) => l.replace('"tempC":18', '"tempC":25')),
    );
    const r = run(['conversation', convId, '--dir', t]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/tool\.result .*\[FAILED: content toolResult: does not match its commitment\]/);
  });
  it('needs a conversation id', () => {
    const r = run(['conversation', '--dir', d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/conversation id/);
  });
  it('prints a timeline in event-time order with quiet periods marked', () => {
    const t = trailCopy();
    const r = run([
      'timeline',
      '--dir',
      t,
      '--from',
      '2026-03-01T00:00:00Z',
      '--to',
      '2026-03-01T04:00:00Z',
      '--actor',
      'user-0',
      '--actor',
      'user-1',
      '--gap',
      '120',
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    // user-0 at hour 0, user-1 at hour 1: the hour between is not marked below a 120-minute gap.
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^2026-03-01T00:00:00\.000Z .* user-0 .* model\.request/);
    // nor at 60 minutes: a quiet period is marked when longer than --gap, as the report lists them
    const window = ['--from', '2026-03-01T00:00:00Z', '--to', '2026-03-01T04:00:00Z'];
    const exact = run([
      'timeline',
      '--dir',
      t,
      ...window,
      '--actor',
      'user-0',
      '--actor',
      'user-1',
      '--gap',
      '60',
    ]);
    expect(exact.stdout.trim().split('\n')).toHaveLength(2);
    const wide = run([
      'timeline',
      '--dir',
      t,
      '--from',
      '2026-03-01T00:00:00Z',
      '--actor',
      'user-0',
      '--gap',
      '60',
    ]);
    expect(wide.stdout).toMatch(/… 4h 0m without events …/);
    const bad = run(['timeline', '--dir', t]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--from/);
  });
});

describe('sealtrail report', () => {
  it('prints the JSON report of a period and records the read', () => {
    const d = trailCopy();
    const r = run(['report', '--dir', d, '--from', '2026-03-01', '--to', '2026-03-02', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.totals.entries).toBe(24);
    expect(report.integrity.verify).toEqual({ ok: true, entries: FIXTURE_ENTRIES, failure: null });
    const reads = jsonl(run(['query', '--dir', d, '--type', 'audit.read', '--format', 'jsonl']).stdout);
    expect(reads[0]).toMatchObject({ action: 'report', meta: { count: 24, format: 'json' } });
  });
  it('writes one self-contained HTML file and Markdown', () => {
    const d = trailCopy();
    const file = path.join(root, 'report.html');
    expect(run(['report', '--dir', d, '--from', '2026-03-01', '--format', 'html', '--out', file]).code).toBe(
      0,
    );
    const html = fs.readFileSync(file, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    const md = run(['report', '--dir', d, '--format', 'md', '--no-verify']);
    expect(md.stdout).toMatch(/^# Audit trail compliance report/);
    expect(md.stdout).toContain('not verified for this report');
  });
  it('keeps a provider and model name apart from a model name holding the same slash', () => {
    const d = path.join(root, 'models');
    expect(run(['init', '--dir', d]).code).toBe(0);
    const events = [
      { type: 'model.completion', model: { provider: 'openai', name: 'gpt-4o' }, usage: { inputTokens: 10 } },
      { type: 'model.completion', model: { provider: 'openai', name: 'gpt-4o' }, usage: { inputTokens: 20 } },
      { type: 'model.completion', model: { name: 'openai/gpt-4o' }, usage: { inputTokens: 5 } },
    ];
    const a = spawnSync(process.execPath, [bin, 'append', '--dir', d], {
      input: `${events.map((e) => JSON.stringify(e)).join('\n')}\n`,
      encoding: 'utf8',
      env: { ...process.env, SEALTRAIL_QUIET: '1' },
    });
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    const json = JSON.parse(run(['report', '--dir', d, '--format', 'json', '--no-verify']).stdout);
    expect(json.totals.byModel).toEqual([
      { provider: 'openai', name: 'gpt-4o', count: 2, inputTokens: 30, outputTokens: 0 },
      { provider: null, name: 'openai/gpt-4o', count: 1, inputTokens: 5, outputTokens: 0 },
    ]);
    const md = run(['report', '--dir', d, '--format', 'md', '--no-verify']).stdout;
    expect(md).toContain('| provider | model | entries | input tokens | output tokens |');
    expect(md).toContain('| openai | gpt-4o | 2 | 30 | 0 |');
    expect(md).toContain('| *none* | openai/gpt-4o | 1 | 5 | 0 |');
    const file = path.join(root, 'models.html');
    expect(run(['report', '--dir', d, '--format', 'html', '--no-verify', '--out', file]).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toContain(
      '<td><span class="muted">none</span></td><td>openai/gpt-4o</td>',
    );
  });
  it('says when the list of quiet periods was cut, and counts them all', async () => {
    const d = path.join(root, 'many-gaps');
    const trail = await AuditTrail.open({ dir: d, worker: false });
    const t0 = Date.UTC(2025, 0, 1);
    // 1,203 events two hours apart: 1,202 quiet periods of more than 60 minutes, more than a report lists
    for (let i = 0; i < 1203; i++)
      trail.emit({ type: 'x.note', ts: new Date(t0 + i * 7_200_000).toISOString() });
    await trail.close();
    const to = new Date(t0 + 1202 * 7_200_000).toISOString();
    const period = ['--from', new Date(t0).toISOString(), '--to', to, '--no-verify'];
    const md = run(['report', '--dir', d, ...period, '--format', 'md']);
    expect(md.stderr).toBe('');
    expect(md.stdout).toContain(
      '1,202 periods of more than 60 minutes without events (the first 50 shown below; the JSON report lists the first 1,000);',
    );
    const json = JSON.parse(run(['report', '--dir', d, ...period, '--format', 'json']).stdout);
    expect(json.gaps.count).toBe(1202);
    expect(json.gaps.periods).toHaveLength(1000);
    const file = path.join(root, 'many-gaps.html');
    expect(run(['report', '--dir', d, ...period, '--format', 'html', '--out', file]).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toContain(
      'the first 50 listed below (the JSON report lists the first 1,000)',
    );
  });
  it('exits 1 when the trail fails verification', () => {
    const d = trailCopy();
    const file = segmentFiles(d)[0]!;
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('user-1', 'user-7'));
    const r = run(['report', '--dir', d, '--format', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).integrity.verify.ok).toBe(false);
  });
});

describe('sealtrail tail', () => {
  it('is recorded as a read (audit.read, verb tail) once the newest entries are printed', () => {
    const d = trailCopy();
    const r = run(['tail', '--dir', d, '-n', '3', '--json', '--as', 'oncall']);
    expect(r.code).toBe(0);
    expect(jsonl(r.stdout)).toHaveLength(3);
    const [read] = jsonl(run(['tail', '--dir', d, '-n', '1', '--json']).stdout);
    expect(read).toMatchObject({
      type: 'audit.read',
      actor: { id: 'oncall' },
      action: 'tail',
      meta: { verb: 'tail', count: 3, format: 'json', filter: '{"n":3}' },
    });
  });

  it('reports a corrupt line (seq, file, reason), prints the entries after it, and exits 2 when the read cannot be recorded', () => {
    const d = trailCopy();
    const file = segmentFiles(d).at(-1)!;
    const lines = readSegmentLines(file);
    lines[0] = 'not a record';
    writeSegmentLines(file, lines);
    const seq = Number(path.basename(file).slice(0, 20));
    const r = run(['tail', '--dir', d, '-n', String(lines.length), '--json']);
    expect(jsonl(r.stdout).map((e) => e.seq)).toEqual(lines.slice(1).map((_, i) => seq + 1 + i));
    // The newest segment changed under a signed checkpoint: no writer opens the trail to record the
    // read, and an unrecorded read is an error (exit 2), as for query.
    expect(r.code).toBe(2);
    const [skipped, unrecorded] = r.stderr.trimEnd().split('\n');
    expect(skipped).toBe(
      `sealtrail: skipped unreadable line at seq ${seq} (${path.basename(file)}): record is not valid JSON`,
    );
    expect(unrecorded).toMatch(
      /^sealtrail: the read could not be recorded in the trail: .*segment was changed/,
    );
  });

  it('reports a line that is JSON but lacks a field every entry has, as query does, and prints the rest', () => {
    const d = trailCopy();
    const file = segmentFiles(d).at(-1)!;
    const lines = readSegmentLines(file);
    expect(lines[0]).toContain('"severity":"');
    lines[0] = lines[0]!.replace(/"severity":"[a-z]+",/, '');
    writeSegmentLines(file, lines);
    const seq = Number(path.basename(file).slice(0, 20));
    const skipped = `sealtrail: skipped unreadable line at seq ${seq} (${path.basename(file)}): event has no severity`;
    for (const format of [[], ['--json']]) {
      // every entry of the segment (and the reads recorded since), the damaged line reported
      const r = run(['tail', '--dir', d, '-n', String(lines.length + 2), ...format]);
      expect(r.stderr.split('\n')[0]).toBe(skipped);
      expect(r.code).toBe(1);
      // the lines after it are printed, in the table as in JSON (the table read `severity` and threw)
      expect(r.stdout).toContain(
        format.length === 0 ? `${seq + lines.length - 1}  ` : `"seq":${seq + lines.length - 1},`,
      );
      expect(r.stdout).not.toContain(`"seq":${seq},`);
    }
    const q = run(['query', '--dir', d, '--seq-from', String(seq), '--seq-to', String(seq + 1)]);
    expect(q.stderr.split('\n')[0]).toBe(skipped);
  });

  it('reports a line whose content is null, or whose event holds a field the reader sets, and prints the rest', () => {
    for (const [edit, reason] of [
      [
        (l: string) => l.replace(/^\{"content":\{[^}]*\},/, '{"content":null,'),
        'record content is not an object of digests',
      ],
      [
        (l: string) => l.replace('"event":{', '"event":{"erased":"response",'),
        'event holds erased, which only a reader sets',
      ],
    ] as const) {
      const d = trailCopy();
      const file = segmentFiles(d).at(-1)!;
      const lines = readSegmentLines(file);
      const damaged = edit(lines[0]!);
      expect(damaged).not.toBe(lines[0]);
      lines[0] = damaged;
      writeSegmentLines(file, lines);
      const seq = Number(path.basename(file).slice(0, 20));
      // Object.keys(null) and `erased.join` threw: tail ended with exit 2 and none of the rest
      const r = run(['tail', '--dir', d, '-n', String(lines.length + 2)]);
      expect(r.stderr.split('\n')[0]).toBe(
        `sealtrail: skipped unreadable line at seq ${seq} (${path.basename(file)}): ${reason}`,
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`${seq + lines.length - 1}  `);
    }
  });
});

describe('sealtrail status', () => {
  it('prints the state as JSON, with the last verification a report recorded', () => {
    const d = trailCopy();
    expect(run(['report', '--dir', d, '--format', 'json', '--as', 'auditor']).code).toBe(0);
    const r = run(['status', '--dir', d, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.entries).toBe(FIXTURE_ENTRIES + 1);
    expect(s.lastVerification).toMatchObject({ result: `ok ${FIXTURE_ENTRIES} entries`, by: 'auditor' });
    const text = run(['status', '--dir', d]);
    expect(text.stdout).toMatch(/^trail .* in /);
    expect(text.stdout).toMatch(/last checkpoint: size 49 /);
  });

  it('says when the last seal is scheduled ahead of the clock (a trail reopened within an epoch)', async () => {
    const d = path.join(root, 'reopened');
    const openClose = async () =>
      (await AuditTrail.open({ dir: d, worker: false, handleExit: false })).close();
    await openClose();
    expect(run(['status', '--dir', d]).stdout).not.toContain('ahead of the clock');
    await openClose();
    const text = run(['status', '--dir', d]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /last seal: epoch 1 \(.*, ahead of the clock: each reopen starts the next epoch early/,
    );
  });
});

describe('sealtrail anomalies', () => {
  it('records findings as security.anomaly, posts them to the webhook, exits 1, and not twice', async () => {
    const d = path.join(root, 'anomalies');
    const trail = await AuditTrail.open({ dir: d, worker: false, handleExit: false });
    for (let i = 0; i < 5; i++) {
      trail.emit({
        type: 'auth.failure',
        ts: `2026-03-04T10:0${i}:00Z`,
        actor: { id: 'mallory', ip: '198.51.100.9' },
      });
    }
    await trail.close();
    const bodies: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
    const env = { SEALTRAIL_WEBHOOK_SECRET: 'sixteen-chars-or-more' };
    const runAsync = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [bin, ...args], {
          env: { ...process.env, SEALTRAIL_QUIET: '1', ...env },
        });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (x) => {
          stdout += x;
        });
        c.stderr.on('data', (x) => {
          stderr += x;
        });
        c.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    try {
      // --to keeps each run's own audit.read entry (stamped now) out of the window: the
      // off-hours rule would flag it at night and on weekends.
      const args = ['anomalies', '--dir', d, '--from', '2026-03-04', '--to', '2026-03-05', '--webhook', url];
      const r = await runAsync(args);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/critical\s+authFailureBurst .* actor:mallory\s+5\/5/);
      expect(r.stdout).toMatch(
        /2 findings in 5 entries; 2 recorded as security\.anomaly now, 0 recorded before/,
      );
      expect(bodies.map((b) => JSON.parse(b).finding.key)).toEqual(['actor:mallory', 'ip:198.51.100.9']);
      const again = await runAsync(args);
      expect(again.stdout).toMatch(/0 recorded as security\.anomaly now, 2 recorded before/);
      expect(bodies).toHaveLength(2);
      const stored = jsonl(
        run(['query', '--dir', d, '--type', 'security.anomaly', '--format', 'jsonl']).stdout,
      );
      expect(stored).toHaveLength(2);
      expect(run(['verify', '--dir', d]).code).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
  it('needs --from and a secret for the webhook', () => {
    const d = trailCopy();
    expect(run(['anomalies', '--dir', d]).stderr).toMatch(/--from/);
    const r = run(['anomalies', '--dir', d, '--from', '2026-03-01', '--webhook', 'http://127.0.0.1:9/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/SEALTRAIL_WEBHOOK_SECRET/);
  });
});

describe('reading encrypted content', () => {
  it('shows ciphertext by default and the plaintext with --decrypt, recording the decryption', () => {
    const d = path.join(root, 'encrypted');
    const env = { SEALTRAIL_KEY: Buffer.alloc(32, 9).toString('base64') };
    expect(run(['init', '--dir', d, '--content', 'encrypt']).code).toBe(0);
    const event = { type: 'model.request', actor: { id: 'u1' }, content: { prompt: 'the secret words' } };
    const appended = spawnSync(process.execPath, [bin, 'append', '--dir', d, '--durable'], {
      input: `${JSON.stringify(event)}\n`,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    expect(appended.status).toBe(0);
    const plain = run(['query', '--dir', d, '--type', 'model.request', '--format', 'jsonl'], env);
    expect(plain.stdout).not.toContain('the secret words');
    expect(plain.stdout).toMatch(/"prompt":"st1:/);
    const shown = run(['query', '--dir', d, '--type', 'model.request', '--decrypt'], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('prompt="the secret words"');
    const reads = jsonl(
      run(['query', '--dir', d, '--type', 'audit.read', '--format', 'jsonl', '--order', 'oldest'], env)
        .stdout,
    );
    expect(reads.map((r) => (r.meta as { decrypted?: boolean }).decrypted)).toEqual([undefined, true]);
    const noKey = run(['query', '--dir', d, '--decrypt'], { SEALTRAIL_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr.trim().split('\n')).toHaveLength(1);
  });
});
