/**
 * `sealtrail retention` as users run it (the built executable): apply with a dry run first, legal
 * holds, and verify, prove, status and report on the pruned trail.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';

const bin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SEALTRAIL_QUIET: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

describe('sealtrail retention', () => {
  const dir = path.join(root, 'audit');

  beforeAll(async () => {
    const trail = await AuditTrail.open({ dir, worker: false, maxSegmentBytes: 1024 });
    for (let i = 0; i < 12; i++) {
      trail.emit({
        type: 'model.completion',
        ts: ago(400),
        subject: `s${i}`,
        conversation: { id: 'c1', turn: i },
        content: { prompt: `old ${i}` },
      });
      if (i % 4 === 3) await trail.flush();
    }
    for (let i = 0; i < 8; i++) {
      trail.emit({ type: 'auth.failure', ts: ago(30), actor: { id: `u${i}` } });
      if (i % 4 === 3) await trail.flush();
    }
    // the conversation goes on after its first 12 turns (pruned below)
    for (const turn of [12, 13]) {
      trail.emit({
        type: 'model.completion',
        ts: ago(30),
        conversation: { id: 'c1', turn },
        content: { prompt: `new ${turn}` },
      });
    }
    await trail.close();
    fs.writeFileSync(
      path.join(dir, 'retention.json'),
      JSON.stringify({ categories: { ai: { keep: '180d' }, authentication: { keep: '7y' } } }),
    );
  });

  it('refuses a policy with a bad field, naming it, with exit 2', () => {
    const bad = path.join(root, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ categories: { ai: { keep: '90 days' } } }));
    const r = run(['retention', 'apply', '--dir', dir, '--policy', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('categories.ai.keep');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--dry-run shows the plan and changes nothing', () => {
    const before = fs.readdirSync(path.join(dir, 'segments')).sort();
    const r = run(['retention', 'apply', '--dry-run', '--dir', dir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan).toMatchObject({ dryRun: true, prune: { entries: 12, firstKept: 12 } });
    expect(fs.readdirSync(path.join(dir, 'segments')).sort()).toEqual(before);
  });

  it('a legal hold stops the pruning; removing it lets it happen; verify and prove pass', () => {
    const add = run([
      'retention',
      'hold',
      'add',
      '--dir',
      dir,
      '--id',
      'case-1',
      '--reason',
      'audit',
      '--subject',
      's2',
    ]);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const listed = run(['retention', 'hold', 'list', '--dir', dir]).stdout;
    // tab-separated cells: id, created, scope, reason
    expect(listed.trimEnd().split('\t')).toEqual(['case-1', expect.any(String), '{"subject":"s2"}', 'audit']);
    const held = JSON.parse(run(['retention', 'apply', '--dir', dir, '--json']).stdout);
    expect(held.prune.entries).toBe(0);
    expect(held.blockedBy).toMatchObject({ reason: 'hold', hold: 'case-1', seq: 2 });
    expect(run(['retention', 'hold', 'remove', '--dir', dir, '--id', 'case-1']).code).toBe(0);

    const applied = run(['retention', 'apply', '--dir', dir]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toContain('remove 3 segments (12 entries)');
    const v = run(['verify', '--dir', dir]);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('entries before 12 pruned');
    const p = run(['prove', '--dir', dir, '--seq', '12', '--json']);
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout).index).toBe(12);
    const gone = run(['prove', '--dir', dir, '--seq', '3']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('pruned');

    const tail = run(['tail', '--dir', dir, '-n', '20', '--json']).stdout;
    for (const t of [
      'retention.hold_added',
      'retention.hold_removed',
      'retention.pruned',
      'admin.retention_applied',
    ])
      expect(tail).toContain(`"${t}"`);
  });

  it('status and the report show the retention state', () => {
    const s = run(['status', '--dir', dir]);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('pruned: entries before seq 12');
    // the entries stored and the entries ever written, each named: the 12 pruned are not counted as kept
    const stored = fs
      .readdirSync(path.join(dir, 'segments'))
      .filter((f) => f.endsWith('.log'))
      .map((f) => fs.readFileSync(path.join(dir, 'segments', f), 'utf8').split('\n').length - 1)
      .reduce((a, b) => a + b, 0);
    const js = JSON.parse(run(['status', '--dir', dir, '--json']).stdout);
    expect(js).toMatchObject({ entries: stored, treeSize: stored + 12, firstSeq: 12, unsignedEntries: 0 });
    expect(s.stdout).toContain(
      `entries: ${stored} kept (seq 12 to ${stored + 11}), from ${js.oldestEntry} to ${js.newestEntry}; ${stored + 12} written in all (tree size), the 12 before seq 12 no longer stored (pruned)`,
    );
    expect(s.stdout).toContain('legal holds: none');
    const r = run(['report', '--dir', dir, '--format', 'json']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout);
    expect(report.retention.pruned).toMatchObject({ firstKept: 12, segments: 3 });
    expect(report.retention.actions.map((a: { key: string }) => a.key)).toContain('retention.pruned');
  });

  it('conversation says that the entries before the boundary are no longer stored', () => {
    const pruned = JSON.parse(run(['status', '--dir', dir, '--json']).stdout).retention.pruned;
    expect(pruned.oldest).toEqual(expect.any(String));
    const r = run(['conversation', 'c1', '--dir', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('c1: 2 entries, 2 turns');
    expect(r.stdout).toContain(
      `pruned: the trail's entries before seq 12, written ${pruned.oldest} to ${pruned.newest}, are no longer stored; its first turn shown is turn 12; earlier entries of this conversation may have been among them`,
    );
    const js = JSON.parse(run(['conversation', 'c1', '--dir', dir, '--json']).stdout);
    expect(js.pruned).toEqual({ beforeSeq: 12, oldestTs: pruned.oldest, newestTs: pruned.newest });
    // a conversation with nothing kept says so too
    const none = run(['conversation', 'c0', '--dir', dir]);
    expect(none.stdout).toContain(
      "no entries for conversation c0\npruned: the trail's entries before seq 12",
    );
  });

  it('rejects an unknown hold action with exit 2', () => {
    const r = run(['retention', 'hold', 'frobnicate', '--dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('retention: expected apply');
  });
});
