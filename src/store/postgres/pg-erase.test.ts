/**
 * Erasure of a data subject on a PostgreSQL log (crypto-shredding) while the log is being written:
 * by the erasing trail itself, which keeps emitting about the subject and others, by readers in
 * other processes and connections (their reads enter the log through `pending_reads`), and by a
 * writer of another log in the same database. After each, the entries table is read directly: no
 * plaintext of the subject in any row, every other subject's content intact and decrypting, the
 * counts of each `audit.erasure` entry equal to the payloads under the key it destroyed, no
 * stored row changed, and the log verifies. The server is real (test-support/postgres.ts); the
 * other processes run the built `sealtrail` command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../../errors.js';
import type { AuditEventInput } from '../../event/types.js';
import {
  envKeyProvider,
  fieldCipherKeyId,
  type KeyRing,
  openKeyDirSubjectKeys,
  openKeyRing,
} from '../../keys/index.js';
import { type ContentPolicy, revealContent } from '../../protect/content-modes.js';
import type { AuditEntry } from '../../read/entry.js';
import { query } from '../../read/query.js';
import { verifyDir } from '../../read/verify-dir.js';
import { startPostgres, type TestPostgres } from '../../test-support/postgres.js';
import { AuditTrail } from '../../writer/trail.js';
import { acquireLock } from '../lock.js';
import { insertPendingReads } from './pg-pending-reads.js';
import { PgSource } from './pg-source.js';

const bin = fileURLToPath(new URL('../../../dist/cli/bin.js', import.meta.url));
const KEY_ENV = { SEALTRAIL_KEY: `k1:${Buffer.alloc(32, 7).toString('base64')}` };
/** In every payload about the erased subject, and in nothing else. */
const MARK = 'secret of alice';

let server: TestPostgres;
let tmp: string;

beforeAll(async () => {
  server = await startPostgres();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-pg-erase-'));
});

afterAll(() => {
  server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let dbCount = 0;
async function freshDb(): Promise<{ db: string; url: string; cliUrl: string }> {
  const db = `e${++dbCount}`;
  const url = await server.createDatabase(db);
  // The URL without its password, for the other processes: the driver reads PGPASSWORD.
  return { db, url, cliUrl: url.replace(':postgres@', '@') };
}

/** Opens log `log` for writing (creating it), with the master key the other processes are given. */
async function openLog(
  url: string,
  log: string,
  keysDir: string,
  origin: string,
  content: ContentPolicy = 'encrypt',
): Promise<{ trail: AuditTrail; ring: KeyRing }> {
  const ring = await openKeyRing({ providers: [envKeyProvider(KEY_ENV)], context: origin });
  const trail = await AuditTrail.open({
    postgres: { url, log, keysDir },
    origin,
    content,
    keys: ring,
    handleExit: false,
  });
  return { trail, ring };
}

/** What a `sealtrail` process wrote, and how it ended. */
interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `sealtrail` in a process of its own; its stdin stays open for `streaming`
 * (`append`), and is closed at once otherwise.
 */
function sealtrail(
  args: string[],
  streaming = false,
): { child: ChildProcess; stdout: () => string; done: Promise<Ended> } {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, SEALTRAIL_QUIET: '1', PGPASSWORD: 'postgres', ...KEY_ENV },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (!streaming) child.stdin!.end();
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<Ended>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, stdout: () => stdout, done };
}

/** One event the test emitted, and how many erasures had started and ended when it was. */
interface Sent {
  id: string;
  subject: string | undefined;
  content: Record<string, string>;
  started: number;
  ended: number;
}

/** Per round: the erased subject (given and by default from actor.id), and others beside it. */
function roundOf(n: number): AuditEventInput[] {
  return [
    {
      type: 'model.request',
      subject: 'alice',
      content: { prompt: `${MARK} ${n}`, response: `more ${MARK} ${n}` },
    },
    { type: 'model.completion', actor: { id: 'alice' }, content: { prompt: `${MARK}, by actor ${n}` } },
    { type: 'model.request', subject: 'bob', content: { prompt: `bob words ${n}` } },
    // about bob, though alice is the actor
    {
      type: 'model.request',
      actor: { id: 'alice' },
      subject: 'bob',
      content: { prompt: `bob via alice ${n}` },
    },
    { type: 'model.request', subject: 'alice2', content: { prompt: `alice2 words ${n}` } },
    { type: 'model.request', subject: 'Alice', content: { prompt: `Alice words ${n}` } },
    { type: 'model.request', content: { prompt: `words of nobody ${n}` } },
  ];
}

/**
 * Emits rounds of events from this thread until stopped, yielding between rounds so that the
 * erasure, the writer and the other processes interleave with it.
 */
function startPump(trail: AuditTrail, sent: Sent[], state: { started: number; ended: number }) {
  let stop = false;
  const running = (async () => {
    for (let n = 0; !stop; n++) {
      for (const e of roundOf(n)) {
        const id = trail.emit(e);
        sent.push({
          id,
          subject: e.subject ?? e.actor?.id,
          content: e.content as Record<string, string>,
          started: state.started,
          ended: state.ended,
        });
      }
      // Kept well inside the queue's bound: a full queue under `block` gives events waiting for
      // alice's new key the master key, which an erasure rightly refuses (not what is tested here).
      do await new Promise((r) => setTimeout(r, n % 3 === 0 ? 1 : 0));
      while (trail.queueDepth > 1000);
    }
  })();
  return async () => {
    stop = true;
    await running;
  };
}

/**
 * Runs `n` erasures of alice while the pump runs, `before(i)` ahead of the i-th; returns what each
 * answered.
 */
async function eraseWhilePumping(
  trail: AuditTrail,
  sent: Sent[],
  n: number,
  before?: (i: number) => Promise<void>,
) {
  const state = { started: 0, ended: 0 };
  const stop = startPump(trail, sent, state);
  const answers = [];
  try {
    await waitFor(() => sent.length > 200);
    for (let i = 0; i < n; i++) {
      await before?.(i);
      state.started++;
      answers.push(await trail.eraseSubject('alice', { reason: `request ${i}` }));
      state.ended++;
      await waitFor(() => sent.filter((s) => s.ended === state.ended).length > 100);
    }
  } finally {
    await stop();
  }
  return answers;
}

async function waitFor(done: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((r) => setTimeout(r, 10));
}

async function entriesOf(url: string, log: string): Promise<AuditEntry[]> {
  const source = new PgSource(url, log);
  try {
    return await query(source, {}, { order: 'oldest' }).toArray();
  } finally {
    source.close();
  }
}

async function rowsOf(db: string, log: string): Promise<Array<{ seq: number; line: string; leaf: string }>> {
  const r = await server.sql(
    db,
    `SELECT e.seq, e.line, encode(e.leaf_hash, 'hex') AS leaf FROM sealtrail.entries e
     JOIN sealtrail.logs l ON l.id = e.log_id WHERE l.log = $1 ORDER BY e.seq`,
    [log],
  );
  return r.rows.map((x) => ({ seq: Number(x.seq), line: x.line, leaf: x.leaf }));
}

/** Rows of the whole entries table (every log) holding `text`. */
async function rowsHolding(db: string, text: string): Promise<number> {
  const r = await server.sql(
    db,
    'SELECT count(*)::int AS n FROM sealtrail.entries WHERE strpos(line, $1) > 0',
    [text],
  );
  return r.rows[0].n;
}

/** The generations of alice's key destroyed so far, oldest first (the key directory's erasure record). */
async function destroyedGenerations(keysDir: string, ring: KeyRing): Promise<string[]> {
  const subjects = await openKeyDirSubjectKeys(keysDir, ring);
  const file = path.join(keysDir, 'subjects', `${subjects.subjectName('alice')}.erased`);
  return JSON.parse(fs.readFileSync(file, 'utf8')).erased.map((e: { generation: string }) => e.generation);
}

/**
 * Checks an encrypt-mode log after `answers.length` erasures of alice: what the test can know from
 * outside (the rows, the key directory, the emitted events), never from the code under test.
 */
async function checkErased(o: {
  db: string;
  url: string;
  log: string;
  origin: string;
  keysDir: string;
  ring: KeyRing;
  sent: Sent[];
  answers: Array<{ entries: number; fields: number }>;
  /** The rows as they were before the first erasure. */
  snapshot: Array<{ seq: number; line: string; leaf: string }>;
  sealSeed: string;
}): Promise<void> {
  // No plaintext of alice's anywhere in the table.
  expect(await rowsHolding(o.db, MARK)).toBe(0);
  // No stored row was changed: the rows before the erasures are as they were.
  const rows = await rowsOf(o.db, o.log);
  expect(rows.slice(0, o.snapshot.length)).toEqual(o.snapshot);

  const destroyed = await destroyedGenerations(o.keysDir, o.ring);
  expect(destroyed).toHaveLength(o.answers.length);
  const subjects = await openKeyDirSubjectKeys(o.keysDir, o.ring);
  const entries = await entriesOf(o.url, o.log);
  const byId = new Map(entries.map((e) => [e.id, e]));
  const under = new Map<string, { entries: number; fields: number }>(
    destroyed.map((g) => [g, { entries: 0, fields: 0 }]),
  );
  let aliceLive = 0;
  for (const s of o.sent) {
    const e = byId.get(s.id);
    expect(e, s.id).toBeDefined();
    expect(e!.subject).toBe(s.subject);
    const fields = Object.keys(s.content);
    expect(Object.keys(e!.content ?? {}).sort()).toEqual(fields.sort());
    expect(e!.contentModes).toEqual(Object.fromEntries(fields.map((f) => [f, 'encrypt'])));
    const generation = fieldCipherKeyId(e!.content![fields[0]!] as string)!;
    for (const f of fields) expect(fieldCipherKeyId(e!.content![f] as string)).toBe(generation);
    if (s.subject !== 'alice') {
      // Everyone else's content is intact.
      expect(await revealContent(e!, o.origin, { ring: o.ring, subjects })).toEqual(s.content);
      continue;
    }
    const k = destroyed.indexOf(generation);
    if (k >= 0) {
      // Under a key an erasure destroyed: unreadable, and counted by that erasure.
      await expect(revealContent(e!, o.origin, { ring: o.ring, subjects })).rejects.toSatisfy((err) =>
        isAuditError(err, 'KEY_DESTROYED'),
      );
      under.get(generation)!.entries++;
      under.get(generation)!.fields += fields.length;
      // Never under the key of an erasure that had ended when it was emitted.
      expect(k).toBeGreaterThanOrEqual(s.ended);
    } else {
      // Under a live key: emitted after the call of the last erasure, and readable.
      expect(s.started).toBe(o.answers.length);
      expect(await revealContent(e!, o.origin, { ring: o.ring, subjects })).toEqual(s.content);
      aliceLive++;
    }
  }
  // Everything emitted before an erasure was called is under a key destroyed by then.
  for (const s of o.sent.filter((x) => x.subject === 'alice' && x.started < o.answers.length)) {
    const e = byId.get(s.id)!;
    const generation = fieldCipherKeyId(Object.values(e.content!)[0] as string)!;
    expect(destroyed.slice(0, s.started + 1)).toContain(generation);
  }
  expect(aliceLive).toBeGreaterThan(0);

  // Each erasure is recorded once, with the payloads under the key it destroyed: none counted twice.
  const erasures = entries.filter((e) => e.type === 'audit.erasure');
  expect(erasures).toHaveLength(o.answers.length);
  for (const [k, e] of erasures.entries()) {
    const counted = under.get(destroyed[k]!)!;
    expect(counted.entries).toBeGreaterThan(0);
    expect(o.answers[k]).toEqual(counted);
    expect(e).toMatchObject({
      subject: 'alice',
      outcome: 'success',
      meta: { ...counted, method: 'crypto-shredding', reason: `request ${k}` },
    });
  }

  const source = new PgSource(o.url, o.log);
  try {
    const report = verifyDir(source, { sealSeed: o.sealSeed });
    expect(report.failure).toBeUndefined();
    expect(report).toMatchObject({ ok: true, entries: rows.length });
  } finally {
    source.close();
  }
}

describe('erasing a subject of a PostgreSQL log again', () => {
  it('counts only what was written under the key since the last erasure', async () => {
    const { url } = await freshDb();
    const origin = 'example.test/pg-erase-again';
    const { trail } = await openLog(url, 'main', path.join(tmp, 'again'), origin);
    try {
      for (let n = 0; n < 3; n++) trail.emit(roundOf(n)[0]!);
      expect(await trail.eraseSubject('alice')).toEqual({ entries: 3, fields: 6 });
      trail.emit(roundOf(3)[0]!);
      // Counted from every payload under any of alice's keys, this was { entries: 4, fields: 8 }.
      expect(await trail.eraseSubject('alice')).toEqual({ entries: 1, fields: 2 });
      expect(await trail.eraseSubject('alice')).toEqual({ entries: 0, fields: 0 });
    } finally {
      await trail.close();
    }
    const erasures = (await entriesOf(url, 'main')).filter((e) => e.type === 'audit.erasure');
    expect(erasures.map((e) => e.meta)).toEqual([
      { entries: 3, fields: 6, method: 'crypto-shredding' },
      { entries: 1, fields: 2, method: 'crypto-shredding' },
      { entries: 0, fields: 0, method: 'crypto-shredding' },
    ]);
  });
});

describe('erasing a subject of a PostgreSQL log when the count after the destruction cannot be read', () => {
  it('records the erasure all the same, with what was counted before it and countIncomplete', async () => {
    const { db, url } = await freshDb();
    const origin = 'example.test/pg-erase-recount';
    const keysDir = path.join(tmp, 'recount');
    const { trail, ring } = await openLog(url, 'main', keysDir, origin);
    let erased: Awaited<ReturnType<AuditTrail['eraseSubject']>>;
    try {
      for (let n = 0; n < 3; n++) trail.emit(roundOf(n)[0]!);
      await trail.flush();
      const name = (await openKeyDirSubjectKeys(keysDir, ring)).subjectName('alice');
      // Held as `keys rotate` holds it: the destruction waits for it, after alice's entries are read.
      const release = acquireLock(path.join(keysDir, 'subjects', `${name}.lock`), 'rewrapping');
      let erasing: Promise<typeof erased>;
      try {
        erasing = trail.eraseSubject('alice', { reason: 'request' });
        // The erasure's reader connection, idle once it has read alice's entries, goes away: the
        // first read after the destruction fails.
        await waitFor(async () => {
          const r = await server.sql(
            db,
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND application_name LIKE 'sealtrail reader%' AND state = 'idle'
               AND query LIKE '%strpos%'`,
            [db],
          );
          return (r.rowCount ?? 0) > 0;
        });
      } finally {
        release();
      }
      erased = await erasing;
    } finally {
      await trail.close();
    }
    expect(erased).toEqual({ entries: 3, fields: 6, countIncomplete: true });
    expect(await destroyedGenerations(keysDir, ring)).toHaveLength(1);
    const erasures = (await entriesOf(url, 'main')).filter((e) => e.type === 'audit.erasure');
    expect(erasures.map((e) => e.meta)).toEqual([
      { entries: 3, fields: 6, method: 'crypto-shredding', reason: 'request', countIncomplete: true },
    ]);
  });
});

describe('erasing a subject of a PostgreSQL log while it is written', () => {
  describe('when the erasing trail keeps emitting about the subject and others (content encrypt)', () => {
    it('destroys only what each erasure counts, every payload once; no plaintext, others intact, the log verifies', async () => {
      const { db, url } = await freshDb();
      const origin = 'example.test/pg-erase-same';
      const keysDir = path.join(tmp, 'same');
      const { trail, ring } = await openLog(url, 'main', keysDir, origin);
      const sealSeed = trail.sealSeed!;
      const sent: Sent[] = [];
      let snapshot: Awaited<ReturnType<typeof rowsOf>> = [];
      let answers: Array<{ entries: number; fields: number }>;
      try {
        // Three erasures in a row, each while events about alice are in flight.
        answers = await eraseWhilePumping(trail, sent, 3, async (i) => {
          if (i > 0) return;
          await trail.flush();
          snapshot = await rowsOf(db, 'main');
        });
      } finally {
        await trail.close();
      }
      expect(snapshot.length).toBeGreaterThan(0);
      await checkErased({ db, url, log: 'main', origin, keysDir, ring, sent, answers, snapshot, sealSeed });
    });
  });

  describe('when the trail keeps emitting about the subject in a plain-mode log', () => {
    it('refuses the erasure, destroying and recording nothing; the log goes on and verifies', async () => {
      const { db, url } = await freshDb();
      const keysDir = path.join(tmp, 'plain');
      const { trail } = await openLog(url, 'main', keysDir, 'example.test/pg-erase-plain', 'plain');
      const sealSeed = trail.sealSeed!;
      const sent: Sent[] = [];
      const state = { started: 0, ended: 0 };
      const stop = startPump(trail, sent, state);
      let refused: unknown;
      try {
        await waitFor(() => sent.length > 200);
        refused = await trail.eraseSubject('alice').catch((e: unknown) => e);
        await waitFor(() => sent.length > 600);
      } finally {
        await stop();
        await trail.close();
      }
      expect(isAuditError(refused, 'USAGE')).toBe(true);
      expect((refused as Error).message).toMatch(/log main is not in content mode encrypt/);
      expect((refused as Error).message).not.toContain('alice');
      // Nothing was destroyed or recorded, and no key was made for it.
      expect(fs.existsSync(path.join(keysDir, 'subjects'))).toBe(false);
      const entries = await entriesOf(url, 'main');
      expect(entries.filter((e) => e.type === 'audit.erasure')).toEqual([]);
      // Said as it is: alice's words are still in the rows (plain logs cannot be erased here).
      expect(await rowsHolding(db, MARK)).toBeGreaterThan(0);
      const byId = new Map(entries.map((e) => [e.id, e]));
      for (const s of sent) {
        expect(byId.get(s.id)!.content).toEqual(s.content);
      }
      const source = new PgSource(url, 'main');
      try {
        expect(verifyDir(source, { sealSeed })).toMatchObject({ ok: true, entries: entries.length });
      } finally {
        source.close();
      }
    });
  });

  describe('when a field the policy keeps in clear holds content about the subject', () => {
    it('refuses before destroying anything, and erases another subject of the same log meanwhile', async () => {
      const { db, url } = await freshDb();
      const origin = 'example.test/pg-erase-mixed';
      const keysDir = path.join(tmp, 'mixed');
      const { trail, ring } = await openLog(url, 'main', keysDir, origin, {
        default: 'encrypt',
        fields: { note: 'plain' },
      });
      const sent: Sent[] = [];
      const state = { started: 0, ended: 0 };
      try {
        trail.emit({
          type: 'model.request',
          subject: 'alice',
          content: { prompt: `${MARK} 0`, note: 'a note about alice' },
        });
        await trail.flush();
        const stop = startPump(trail, sent, state);
        try {
          await waitFor(() => sent.length > 200);
          const refused = await trail.eraseSubject('alice').catch((e: unknown) => e);
          expect(isAuditError(refused, 'USAGE')).toBe(true);
          expect((refused as Error).message).toMatch(/1 content fields about this subject .* in clear \(1\)/);
          expect(await trail.eraseSubject('Alice')).toMatchObject({ entries: expect.any(Number) });
          await waitFor(() => sent.length > 600);
        } finally {
          await stop();
        }
      } finally {
        await trail.close();
      }
      const subjects = await openKeyDirSubjectKeys(keysDir, ring);
      const entries = await entriesOf(url, 'main');
      const byId = new Map(entries.map((e) => [e.id, e]));
      // alice's key lives: every payload of hers still decrypts; Alice's emitted before her erasure do not.
      for (const s of sent.filter((x) => x.subject === 'alice' || x.subject === 'bob')) {
        expect(await revealContent(byId.get(s.id)!, origin, { ring, subjects })).toEqual(s.content);
      }
      const erasures = entries.filter((e) => e.type === 'audit.erasure');
      expect(erasures.map((e) => e.subject)).toEqual(['Alice']);
      const shredded = entries.filter(
        (e) => e.subject === 'Alice' && e.seq < erasures[0]!.seq && e.content !== undefined,
      );
      let unreadable = 0;
      for (const e of shredded) {
        const r = await revealContent(e, origin, { ring, subjects }).catch((err: unknown) => err);
        if (isAuditError(r, 'KEY_DESTROYED')) unreadable++;
      }
      expect(erasures[0]!.meta).toMatchObject({ entries: unreadable, fields: unreadable });
      expect(await rowsHolding(db, MARK)).toBe(0);
      expect(await rowsHolding(db, 'a note about alice')).toBe(1);
      const source = new PgSource(url, 'main');
      try {
        expect(verifyDir(source).ok).toBe(true);
      } finally {
        source.close();
      }
    });
  });

  describe('when other processes and connections write while a trail erases', () => {
    it("reads about the subject enter the log without content, a forged read with content never does, another log's alice is untouched, and a second writer is locked out", async () => {
      const { db, url, cliUrl } = await freshDb();
      const origin = 'example.test/pg-erase-main';
      const keysDir = path.join(tmp, 'procs-main');
      // Another log in the same database, with a subject of the same id, written by another process.
      const otherOrigin = 'example.test/pg-erase-other';
      const otherKeys = path.join(tmp, 'procs-other');
      const { trail: created, ring: otherRing } = await openLog(url, 'other', otherKeys, otherOrigin);
      const otherSeed = created.sealSeed!;
      await created.close();

      const { trail, ring } = await openLog(url, 'main', keysDir, origin);
      const sealSeed = trail.sealSeed!;
      await server.sql(db, "CREATE ROLE auditor LOGIN PASSWORD 'aud-secret' IN ROLE sealtrail_reader");
      const readerUrl = server.urlAs('auditor', 'aud-secret', db);

      // The other log's writer: `sealtrail append`, fed a few events at a time.
      const appender = sealtrail(
        ['append', '--postgres', cliUrl, '--log', 'other', '--keys', otherKeys, '--durable'],
        true,
      );
      const otherSent: Array<{ subject: string; content: Record<string, string> }> = [];
      const feed = setInterval(() => {
        const lines = [];
        for (const subject of ['alice', 'bob']) {
          const e = {
            type: 'model.request',
            subject,
            content: { prompt: `other log, ${subject} ${otherSent.length}` },
          };
          otherSent.push({ subject, content: e.content });
          lines.push(JSON.stringify(e));
        }
        appender.child.stdin!.write(`${lines.join('\n')}\n`);
      }, 5);
      // Readers of the log in other processes (`sealtrail query --as alice`: a read whose subject
      // is alice) and in another connection of the reader role, the last with a forged read that
      // carries content about alice.
      let reading = true;
      let queries = 0;
      const readers = (async () => {
        while (reading) {
          const r = await sealtrail([
            'query',
            '--postgres',
            cliUrl,
            '--log',
            'main',
            '--subject',
            'alice',
            '--as',
            'alice',
          ]).done;
          expect(r.stderr).toBe('');
          expect(r.code).toBe(0);
          queries++;
        }
      })();
      let inserted = 0;
      const inserts = (async () => {
        await insertPendingReads(readerUrl, 'main', [
          {
            type: 'audit.read',
            subject: 'alice',
            content: { prompt: `${MARK}, planted` },
          } as AuditEventInput,
        ]);
        while (reading) {
          await insertPendingReads(readerUrl, 'main', [
            { type: 'audit.read', subject: 'alice', action: 'query', meta: { n: inserted } },
          ]);
          inserted++;
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const absorbed = async () =>
        (
          await server.sql(
            db,
            'SELECT count(*)::int AS n FROM sealtrail.entries WHERE strpos(line, \'"dbRole":"auditor"\') > 0',
          )
        ).rows[0].n;

      const sent: Sent[] = [];
      let snapshot: Awaited<ReturnType<typeof rowsOf>> = [];
      let answers: Array<{ entries: number; fields: number }>;
      let appended: Ended;
      try {
        try {
          answers = await eraseWhilePumping(trail, sent, 2, async (i) => {
            if (i === 0) {
              // A second writer of the log, `sealtrail erase` in its own process: locked out before
              // it destroys anything.
              const subjects = await openKeyDirSubjectKeys(keysDir, ring);
              const keyFile = path.join(keysDir, 'subjects', `${subjects.subjectName('alice')}.key`);
              expect(fs.existsSync(keyFile)).toBe(true);
              const other = await sealtrail([
                'erase',
                '--postgres',
                cliUrl,
                '--log',
                'main',
                '--keys',
                keysDir,
                '--subject',
                'alice',
              ]).done;
              expect(other.code).toBe(2);
              expect(other.stderr).toMatch(/log main is being written by .*; one writer per log/);
              expect(fs.existsSync(keyFile)).toBe(true);
              await waitFor(() => queries > 0 && appender.stdout().length > 0);
              await trail.flush();
              snapshot = await rowsOf(db, 'main');
            }
            // Reads of the other connection enter the log while the erasures run.
            const seen = await absorbed();
            await waitFor(async () => (await absorbed()) > seen);
          });
        } finally {
          reading = false;
          clearInterval(feed);
          await readers;
          await inserts;
          appender.child.stdin!.end();
        }
        appended = await appender.done;
        // The reads still waiting enter the log at the writer's next tick; the forged one never does.
        await waitFor(async () => {
          const r = await server.sql(db, 'SELECT count(*)::int AS n FROM sealtrail.pending_reads');
          return r.rows[0].n === 1;
        });
      } finally {
        await trail.close();
        appender.child.kill(); // nothing when it has ended
      }
      expect(appended.stderr).toBe('');
      expect(appended.code).toBe(0);
      expect(appended.stdout.trim().split('\n')).toHaveLength(otherSent.length);
      const left = await server.sql(db, 'SELECT event FROM sealtrail.pending_reads');
      expect(left.rows.map((r) => JSON.parse(r.event).content)).toEqual([{ prompt: `${MARK}, planted` }]);

      await checkErased({ db, url, log: 'main', origin, keysDir, ring, sent, answers, snapshot, sealSeed });
      const reads = (await entriesOf(url, 'main'))
        .filter((e) => e.type === 'audit.read')
        .map((e) => e as AuditEntry & { meta: Record<string, unknown>; actor?: { id: string } });
      expect(reads.filter((e) => e.meta.dbRole === 'auditor').map((e) => e.meta.n)).toEqual([
        ...Array(inserted).keys(),
      ]);
      expect(reads.filter((e) => e.actor?.id === 'alice' && e.meta.verb === 'query').length).toBe(queries);
      for (const e of reads) {
        expect(e.subject).toBe('alice');
        expect(e.content).toBeUndefined();
      }

      // The other log: alice's content there is under that log's own key and intact.
      const other = await entriesOf(url, 'other');
      expect(other.filter((e) => e.type === 'audit.erasure')).toEqual([]);
      const otherSubjects = await openKeyDirSubjectKeys(otherKeys, otherRing);
      const contents = other.filter((e) => e.type === 'model.request');
      expect(contents).toHaveLength(otherSent.length);
      for (const [i, e] of contents.entries()) {
        expect(e.subject).toBe(otherSent[i]!.subject);
        expect(await revealContent(e, otherOrigin, { ring: otherRing, subjects: otherSubjects })).toEqual(
          otherSent[i]!.content,
        );
      }
      expect(fs.readdirSync(path.join(otherKeys, 'subjects')).filter((f) => f.endsWith('.erased'))).toEqual(
        [],
      );
      const source = new PgSource(url, 'other');
      try {
        expect(verifyDir(source, { sealSeed: otherSeed })).toMatchObject({ ok: true, entries: other.length });
      } finally {
        source.close();
      }
    });
  });
});
