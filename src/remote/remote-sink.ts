/**
 * `RemoteSink`: a producer's way to a collector. `emit()` appends the event to a disk spool (one
 * JSON line per event, 0600, in a 0700 directory) and returns; one sender drains the spool in
 * order, in batches of JSON lines, to `POST /v1/events`, advancing a durable offset only when the
 * collector answered 200 (the collector has synced the batch by then). While the collector is down
 * or overloaded, events wait in the spool and the sender retries with capped exponential backoff;
 * a producer restarted on the same spool resumes where it stopped. The spool is bounded: past
 * `maxSpoolBytes`, `emit()` throws BUFFER_FULL rather than fill the disk.
 *
 * A batch the collector synced but whose answer was lost (the connection or the collector died in
 * between) is sent again. Each event carries `meta.sinkId` and `meta.sinkSeq` (the spool's id and
 * the event's place in it, numbered on across restarts of the producer), and the collector drops an
 * event whose seq it already recorded for this producer and sink (server/sink-sequences.ts): the
 * trail holds each event once, in the order it was emitted.
 *
 * A batch the collector finds too large (413) is sent again in halves; one event too large on its
 * own is set aside in `rejected.jsonl` like an event the collector refuses (400). The sender does
 * not keep the process alive, except while someone awaits `flush()`.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { reportDiagnostic } from '../diagnostics.js';
import { AuditError } from '../errors.js';
import type { AuditEventInput } from '../event/index.js';
import { acquireLock, ensureDir, ensurePrivateDir, readIfExists, writeFileAtomic } from '../store/index.js';
import { writeAll } from '../write-all.js';

/** Options of {@link RemoteSink}. */
export interface RemoteSinkOptions {
  /** The collector's base URL, `http://host:port`. */
  url: string;
  /** A token with the `ingest` scope. */
  token: string;
  /** The spool directory (created 0700); default `./audit-spool`. One sink per spool. */
  spoolDir?: string;
  /** Events per request; default 500. */
  batchSize?: number;
  /** Largest spool file in bytes before `emit()` refuses; default 256 MiB. */
  maxSpoolBytes?: number;
  /** First retry delay in ms (doubles up to `maxRetryMs`); default 100. */
  minRetryMs?: number;
  /** Longest retry delay in ms; default 10,000. */
  maxRetryMs?: number;
  /** Time limit of one request in ms; default 30,000. */
  requestTimeoutMs?: number;
}

const SPOOL = 'spool.jsonl';
const OFFSET = 'spool.offset';
const ID = 'spool.id';
const REJECTED = 'rejected.jsonl';
const SEQ = 'spool.seq';
/** Held by the one sink sending from the spool (store/lock.ts: a crashed holder's is taken over). */
const LOCK = 'spool.lock';
const READ_CHUNK = 1 << 20;

/** Sends events to a collector through a disk spool. */
export class RemoteSink {
  private readonly url: string;
  private readonly token: string;
  private readonly dir: string;
  private readonly batchSize: number;
  private readonly maxSpoolBytes: number;
  private readonly minRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly requestTimeoutMs: number;
  private readonly sinkId: string;
  private fd: number;
  /** Releases the spool's lock. */
  private release: (() => void) | undefined;
  private size: number;
  private offset: number;
  private seq: number;
  private sending: Promise<void> | undefined;
  private retryMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private waiters: Array<() => void> = [];
  /** Most lines in the next batch (after a refusal, the good events before the bad one). */
  private nextLimit = Number.POSITIVE_INFINITY;

  /**
   * Opens (or resumes) the spool and starts draining it.
   * @throws AuditError CONFIG_INVALID for a missing url or token, STORE_IO when the spool cannot be opened.
   */
  constructor(options: RemoteSinkOptions) {
    if (typeof options.url !== 'string' || !/^https?:\/\//.test(options.url)) {
      throw new AuditError('CONFIG_INVALID', 'url: expected an http(s) URL of a collector', { field: 'url' });
    }
    if (typeof options.token !== 'string' || options.token === '') {
      throw new AuditError('CONFIG_INVALID', 'token: expected a collector token with the ingest scope', {
        field: 'token',
      });
    }
    // fetch() refuses a url with credentials: every send would fail, retried forever, unseen.
    const parsed = URL.canParse(options.url) ? new URL(options.url) : undefined;
    if (parsed !== undefined && (parsed.username !== '' || parsed.password !== '')) {
      throw new AuditError('CONFIG_INVALID', 'url: no credentials in the url; the token authenticates', {
        field: 'url',
      });
    }
    this.url = `${options.url.replace(/\/+$/, '')}/v1/events`;
    this.token = options.token;
    this.dir = path.resolve(options.spoolDir ?? './audit-spool');
    this.batchSize = options.batchSize ?? 500;
    this.maxSpoolBytes = options.maxSpoolBytes ?? 256 * 1024 * 1024;
    this.minRetryMs = options.minRetryMs ?? 100;
    this.maxRetryMs = options.maxRetryMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    try {
      ensureDir(this.dir);
      // One sink per spool: two (two workers of one app on ./audit-spool) shared one sink id and
      // numbered from the same seq, so the collector dropped most of their events as repeats.
      this.release = acquireLock(path.join(this.dir, LOCK), 'spool is being sent');
      const idFile = path.join(this.dir, ID);
      let id = readIfExists(idFile)?.trim();
      if (id === undefined || id === '') {
        // A new spool: it holds events as emitted, so a directory made beforehand is made private.
        ensurePrivateDir(this.dir);
        id = randomBytes(8).toString('hex');
        writeFileAtomic(idFile, `${id}\n`);
      }
      this.sinkId = id;
      this.fd = fs.openSync(path.join(this.dir, SPOOL), 'a+', 0o600);
      this.size = fs.fstatSync(this.fd).size;
      this.offset = Math.min(Number(readIfExists(path.join(this.dir, OFFSET)) ?? '0') || 0, this.size);
      this.endTornLine();
      this.seq = this.lastSeq() + 1;
    } catch (err) {
      this.release?.();
      if (err instanceof AuditError) throw err;
      throw new AuditError('STORE_IO', `spool ${this.dir}: cannot be opened`, { file: this.dir }, err);
    }
    if (this.offset < this.size) this.kick(0);
  }

  /** Bytes of events spooled and not yet acknowledged by the collector. */
  get pendingBytes(): number {
    return this.size - this.offset;
  }

  /**
   * Spools an event for the collector. Synchronous: the event is on disk (not yet synced) when it returns.
   * @throws AuditError BUFFER_FULL when the spool is full, TRAIL_CLOSED after close().
   */
  emit(event: AuditEventInput): void {
    if (this.closed) throw new AuditError('TRAIL_CLOSED', 'remote sink is closed');
    const meta = { ...(event.meta ?? {}), sinkId: this.sinkId, sinkSeq: this.seq };
    // Stamped here: an event spooled while the collector is down must keep the time it happened,
    // not take the time the collector finally receives it.
    const ts = event.ts ?? new Date();
    const line = `${JSON.stringify({ ...event, ts, meta })}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size + bytes > this.maxSpoolBytes) {
      this.compact();
      if (this.size + bytes > this.maxSpoolBytes) {
        throw new AuditError('BUFFER_FULL', `spool full: ${this.maxSpoolBytes} bytes wait for the collector`);
      }
    }
    writeAll(this.fd, line);
    this.size += bytes;
    this.seq++;
    if (this.timer === undefined && this.sending === undefined) this.kick(0);
  }

  /** Resolves when every event spooled so far has been acknowledged by the collector. */
  flush(): Promise<void> {
    if (this.offset >= this.size) return Promise.resolve();
    // Awaited: the sender's timer now holds the process open (a script that emits, flushes and
    // ends would otherwise exit before the first request).
    this.timer?.ref();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops sending; what is still spooled stays for the next sink opened on this spool. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.sending;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.release?.();
    this.release = undefined;
    for (const w of this.waiters.splice(0)) w();
  }

  private kick(delayMs: number): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.sending === undefined) {
        this.sending = this.drain()
          .catch(() => {
            reportDiagnostic({
              kind: 'write-failed',
              message: `remote sink: spool ${this.dir} could not be read; retrying`,
            });
            this.kick(this.maxRetryMs);
          })
          .finally(() => {
            this.sending = undefined;
            // An event spooled while the last request finished: no one else will send it.
            if (this.timer === undefined && this.offset < this.size) this.kick(0);
          });
      }
    }, delayMs);
    // A producer is not kept alive by its audit sink, unless it awaits flush().
    if (this.waiters.length === 0) this.timer.unref();
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.offset < this.size) {
      const { lines, bytes } = this.readBatch();
      if (lines.length === 0) return;
      const outcome = await this.send(lines);
      if (outcome.kind === 'retry') {
        this.retryMs = Math.min(this.maxRetryMs, Math.max(this.minRetryMs, this.retryMs * 2));
        this.kick(outcome.afterMs ?? this.retryMs);
        return;
      }
      this.retryMs = 0;
      if (outcome.kind === 'smaller') {
        this.nextLimit = outcome.lines;
        continue;
      }
      if (outcome.kind === 'rejected') {
        if (outcome.index > 0) {
          // The events before the refused one were refused with it: send them on their own first.
          this.nextLimit = outcome.index;
          continue;
        }
        // An event the collector will never take (400): set it aside so the rest can flow.
        fs.appendFileSync(path.join(this.dir, REJECTED), `${lines[0]}\n`, { mode: 0o600 });
        reportDiagnostic({
          kind: 'write-failed',
          message: `remote sink: the collector refused an event (${outcome.field || 'body'}); kept in ${REJECTED}`,
        });
        this.advance(Buffer.byteLength(lines[0] ?? '') + 1);
        continue;
      }
      this.advance(bytes);
    }
    if (this.offset >= this.size) {
      this.compact();
      for (const w of this.waiters.splice(0)) w();
    }
  }

  private advance(bytes: number): void {
    this.offset += bytes;
    writeFileAtomic(path.join(this.dir, OFFSET), String(this.offset));
  }

  private readBatch(): { lines: string[]; bytes: number } {
    const want = Math.min(READ_CHUNK, this.size - this.offset);
    let buf = Buffer.alloc(want);
    let n = fs.readSync(this.fd, buf, 0, want, this.offset);
    buf = buf.subarray(0, n);
    let end = buf.lastIndexOf(0x0a);
    if (end < 0 && n < this.size - this.offset) {
      // One event larger than a chunk: read up to its end.
      const nl = this.findNewline(this.offset + n);
      buf = Buffer.alloc(nl - this.offset + 1);
      n = fs.readSync(this.fd, buf, 0, buf.length, this.offset);
      end = n - 1;
    }
    if (end < 0) return { lines: [], bytes: 0 };
    const lines: string[] = [];
    let pos = 0;
    const limit = Math.min(this.batchSize, this.nextLimit);
    this.nextLimit = Number.POSITIVE_INFINITY;
    while (pos <= end && lines.length < limit) {
      const nl = buf.indexOf(0x0a, pos);
      lines.push(buf.toString('utf8', pos, nl));
      pos = nl + 1;
    }
    return { lines, bytes: pos };
  }

  private findNewline(from: number): number {
    const chunk = Buffer.alloc(64 * 1024);
    for (let at = from; at < this.size; at += chunk.length) {
      const n = fs.readSync(this.fd, chunk, 0, chunk.length, at);
      const i = chunk.subarray(0, n).indexOf(0x0a);
      if (i >= 0) return at + i;
    }
    return this.size - 1;
  }

  private async send(
    lines: readonly string[],
  ): Promise<
    | { kind: 'ok' }
    | { kind: 'retry'; afterMs?: number }
    | { kind: 'smaller'; lines: number }
    | { kind: 'rejected'; index: number; field: string }
  > {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/x-ndjson' },
        body: `${lines.join('\n')}\n`,
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch {
      return { kind: 'retry' };
    }
    if (res.status === 200) {
      await res.arrayBuffer();
      return { kind: 'ok' };
    }
    if (res.status === 413) {
      await res.arrayBuffer().catch(() => undefined);
      // Too large for the collector: half the batch next, and one event alone is refused for good.
      if (lines.length > 1) return { kind: 'smaller', lines: Math.ceil(lines.length / 2) };
      return { kind: 'rejected', index: 0, field: 'body (larger than the collector accepts)' };
    }
    let body: { index?: unknown; field?: unknown } = {};
    try {
      body = (await res.json()) as typeof body;
    } catch {
      // not JSON: treat as a retry below
    }
    if (res.status === 400) {
      const field = typeof body.field === 'string' ? body.field : '';
      if (typeof body.index === 'number' && body.index >= 0 && body.index < lines.length)
        return { kind: 'rejected', index: body.index, field };
      // The batch refused whole, naming no event (more events than the collector's --max-batch): a
      // 400 is never taken on a retry, so halves, as for 413; one event refused alone is set aside.
      if (lines.length > 1) return { kind: 'smaller', lines: Math.ceil(lines.length / 2) };
      return { kind: 'rejected', index: 0, field };
    }
    if (res.status === 401 || res.status === 403) {
      reportDiagnostic({
        kind: 'write-failed',
        message: `remote sink: the collector answered ${res.status}; retrying`,
      });
    }
    const after = Number(res.headers.get('retry-after'));
    return Number.isFinite(after) && after > 0 ? { kind: 'retry', afterMs: after * 1000 } : { kind: 'retry' };
  }

  /** When everything sent is acknowledged, or the sent part is large, rewrites the spool without it. */
  private compact(): void {
    if (this.offset === 0) return;
    if (this.offset < this.size && this.offset < this.maxSpoolBytes / 2) return;
    const spool = path.join(this.dir, SPOOL);
    const rest = Buffer.alloc(this.size - this.offset);
    fs.readSync(this.fd, rest, 0, rest.length, this.offset);
    fs.closeSync(this.fd);
    // The numbering and the offset first: a crash before the new spool is in place then resends
    // what was acknowledged (the collector drops repeats), instead of skipping what was not.
    writeFileAtomic(path.join(this.dir, SEQ), String(this.seq - 1));
    writeFileAtomic(path.join(this.dir, OFFSET), '0');
    writeFileAtomic(spool, rest);
    this.fd = fs.openSync(spool, 'a+', 0o600);
    this.size = rest.length;
    this.offset = 0;
  }

  /**
   * Ends a last line torn by a crash (power loss, a full disk) with a newline. Else the next event
   * would be appended to it, and the two refused together as one line that is not JSON. Ended,
   * the torn line alone is refused by the collector and kept in rejected.jsonl.
   */
  private endTornLine(): void {
    const one = Buffer.alloc(1);
    if (this.size === 0 || (fs.readSync(this.fd, one, 0, 1, this.size - 1) === 1 && one[0] === 0x0a)) return;
    // An offset at the end of the torn line (the spool cut below it) has that line acknowledged.
    const acknowledged = this.offset === this.size;
    writeAll(this.fd, '\n');
    this.size++;
    if (acknowledged) this.offset = this.size;
  }

  /**
   * The last sinkSeq in the spool (to continue numbering after a restart), else the one saved at
   * compaction. A line torn by a crash holds no number: the one before it does. Numbering on from
   * the saved one instead would reuse seqs the collector already recorded, and it would drop the
   * events that carry them as repeats.
   */
  private lastSeq(): number {
    const seqFile = readIfExists(path.join(this.dir, SEQ));
    const saved = seqFile === undefined ? -1 : Number(seqFile);
    const fallback = Number.isSafeInteger(saved) ? saved : -1;
    for (let end = this.size; end > 0; ) {
      // The whole line, however long: its sinkSeq can sit anywhere in it.
      const line = this.lineBefore(end);
      end = line.start;
      let seq: unknown;
      try {
        seq = (JSON.parse(line.text) as { meta?: { sinkSeq?: unknown } }).meta?.sinkSeq;
      } catch {
        continue; // torn: look at the line before
      }
      if (typeof seq === 'number' && Number.isSafeInteger(seq)) return Math.max(fallback, seq);
    }
    return fallback;
  }

  /** The line that ends at `to` (without its newline) and where it starts; '' at 0. */
  private lineBefore(to: number): { text: string; start: number } {
    let end = to;
    const one = Buffer.alloc(1);
    // Trailing newlines are not a line.
    while (end > 0 && fs.readSync(this.fd, one, 0, 1, end - 1) === 1 && one[0] === 0x0a) end--;
    const chunk = Buffer.alloc(64 * 1024);
    let start = end;
    while (start > 0) {
      const from = Math.max(0, start - chunk.length);
      const n = fs.readSync(this.fd, chunk, 0, start - from, from);
      const nl = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (nl >= 0) {
        start = from + nl + 1;
        break;
      }
      start = from;
    }
    const line = Buffer.alloc(end - start);
    fs.readSync(this.fd, line, 0, line.length, start);
    return { text: line.toString('utf8'), start };
  }
}
