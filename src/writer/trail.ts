/**
 * `AuditTrail`: the library API. `emit()` validates and serializes on the caller's thread and
 * returns the entry id at once; batches go to the appender (a worker thread for file trails), which
 * seals, writes and syncs them. The queue is bounded; what happens when it is full is a policy
 * (`block`, `reject` or `count`), never a silent drop. Normal exit, SIGINT and SIGTERM flush and
 * close every open trail.
 */

import { reportDiagnostic } from '../diagnostics.js';
import { AuditError, isAuditError } from '../errors.js';
import { refuseTrailOwnType } from '../event/catalogue.js';
import { type PreparedEvent, type PrepareOptions, prepareEvent } from '../event/prepare.js';
import type { AuditEventInput } from '../event/types.js';
import type { KeyRing } from '../keys/index.js';
import type { ContentPolicy } from '../protect/content-modes.js';
import { type AuditEntry, getEntry, type QueryFilter, type QueryOptions, query } from '../read/index.js';
import { planRetentionRun, type RetentionResult } from '../retention/apply.js';
import type { ErasureCount } from '../retention/erase.js';
import { addHold, type LegalHold, readHolds, removeHold } from '../retention/holds.js';
import type { RetentionPolicy } from '../retention/policy.js';
import { type ContentMode, ingestPendingReads, type TrailMeta, trailLayout } from '../store/index.js';
import type { Appender } from './appender.js';
import { type Channel, type ChannelEvents, InlineChannel, WorkerChannel } from './channel.js';
import type { ContentKeyUpdate } from './content-sealing.js';
import { registerForExit, unregisterForExit } from './exit-hooks.js';
import { BatchBuilder } from './framing.js';
import { type OpenFileOptions, openFileAppender } from './open-file.js';
import { type MemoryTrailStore, openMemoryAppender, openStdoutAppender } from './open-memory.js';
import type { OpenPgOptions } from './open-postgres.js';
import { type PostgresTarget, pgKeysDir } from './postgres-target.js';
import { type ProtectionOptions, TrailProtection } from './protection.js';
import { type OverflowPolicy, type QueueSettings, queueSettings } from './writer-options.js';

export type { OverflowPolicy } from './writer-options.js';

/** Options of {@link AuditTrail.open}. */
export interface AuditTrailOptions {
  /** Trail directory (segment files). One of `dir` or `store: 'memory'`. */
  dir?: string;
  /**
   * `'memory'` keeps the trail in memory (tests); a {@link MemoryTrailStore} reopens one;
   * `'stdout'` writes entries, checkpoints and seals to stdout as JSON lines (containers).
   */
  store?: 'memory' | 'stdout' | MemoryTrailStore;
  /**
   * A log in PostgreSQL instead of a directory: a connection string, or the connection string
   * with the log's name, key directory and lock wait (docs/postgres.md). Always written from a
   * worker thread; content modes hash and encrypt need `keys`.
   */
  postgres?: string | PostgresTarget;
  /** Create the trail when missing (default true). */
  create?: boolean;
  origin?: string;
  /**
   * What to store for content payloads: `plain`, `hash` or `encrypt`, or `{ default, fields }`
   * per field name. Default the trail's own mode (`sealtrail init --content`), plain for memory
   * and stdout trails. A new trail directory records the default mode.
   */
  content?: ContentPolicy;
  /** Redact PII and secrets before anything is stored: `true` for the defaults, options, or a redactor. Default off. */
  redact?: ProtectionOptions['redact'];
  /** Keys for the `hash` and `encrypt` modes; default the trail's provider chain (docs/keys.md). */
  keys?: KeyRing;
  /** Seal the appender in a worker thread (default true for directories). */
  worker?: boolean;
  /** Events per batch handed to the appender; default 1000. */
  batchSize?: number;
  /**
   * Events accepted but not yet durable before the overflow policy applies. Default, under `block`:
   * 8 batches (at least 8,192 events), about 9 MB of ~1 KB events, which stays in the CPU's cache
   * between the two threads (docs/benchmarks.md: 100,000 measured 15–25% slower); under `reject`
   * and `count`, where a full queue loses events, 100,000.
   */
  maxQueue?: number;
  /** Default `block`: emit waits (synchronously) for room; `reject` throws BUFFER_FULL; `count` drops and records how many. */
  overflow?: OverflowPolicy;
  /** Longest time (ms) a lone event waits before its batch is sent; default 0 (next turn of the event loop). */
  flushIntervalMs?: number;
  checkpointIntervalMs?: number;
  sealEpochMs?: number;
  maxSegmentBytes?: number;
  /** Longest string kept whole, in UTF-8 bytes; longer ones are truncated with a marker. Default 65536. */
  maxStringBytes?: number;
  /** Mirror every stored line to stdout as JSON lines (containers). */
  stdout?: boolean;
  /** Flush and close on SIGINT/SIGTERM and normal exit (default true). */
  handleExit?: boolean;
}

const EXIT_TIMEOUT_MS = 10_000;
/** Batches the writer may be behind before the caller's thread encrypts content itself (see `frame`). */
const ENCRYPT_HERE_BACKLOG = 2;

/** A tamper-evident audit trail open for writing. */
export class AuditTrail {
  /** The trail's origin (checkpoint key name). */
  readonly origin: string;
  /** The trail directory, for reading back (undefined for memory and stdout trails). */
  private readonly dir: string | undefined;
  /** The C2SP verifier key of the trail's checkpoints. */
  readonly verifierKey: string;
  /** The forward-seal seed, only when this open created the trail: keep it offline. */
  readonly sealSeed: string | undefined;

  private channel!: Channel;
  /**
   * Events are framed as they are emitted, while their serialized text is still in the CPU's
   * cache (framing them later, per batch, cost twice as much: measured), even those whose
   * subject's key is still being fetched (protection.ts).
   */
  private readonly framer = new BatchBuilder();
  /** Slots without a key yet among the events of the batch being built. */
  private unresolved: number[] = [];
  private emitted = 0;
  private durableCount = 0;
  private lost = 0;
  private lostSince = '';
  private scheduled = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private waiters: Array<{ target: number; resolve: () => void }> = [];
  private readonly batchSize: number;
  private readonly maxQueue: number;
  private readonly overflow: OverflowPolicy;
  private readonly flushIntervalMs: number;
  private prepareOptions: PrepareOptions;
  private protection: TrailProtection | undefined;
  /** Framed batches waiting for subject keys, in order, and every batch after them (protection.ts). */
  private waiting: OutBatch[] = [];
  private retryBacklog: Array<{ data: Uint8Array; count: number; keys?: ContentKeyUpdate }> = [];
  private timer: NodeJS.Timeout | undefined;
  /** The PostgreSQL log, for reading back. */
  private postgres: PostgresTarget | undefined;
  /** The `keys` option: the ring that wrapped subject keys, for an erasure (eraseSubject). */
  private readonly keys: KeyRing | undefined;

  private constructor(
    init: { origin: string; verifierKey: string; sealSeed?: string },
    options: AuditTrailOptions,
    queue: QueueSettings,
  ) {
    this.origin = init.origin;
    this.dir = options.dir;
    this.keys = options.keys;
    this.verifierKey = init.verifierKey;
    this.sealSeed = init.sealSeed;
    this.batchSize = queue.batchSize;
    this.overflow = queue.overflow;
    this.maxQueue = queue.maxQueue;
    this.flushIntervalMs = queue.flushIntervalMs;
    this.prepareOptions =
      options.maxStringBytes === undefined ? {} : { maxStringBytes: options.maxStringBytes };
  }

  /**
   * Opens (creating when missing) a trail for writing.
   * @throws AuditError CONFIG_INVALID, TRAIL_LOCKED, TRAIL_NOT_FOUND, STORE_IO, KEY_INVALID.
   */
  static async open(options: AuditTrailOptions): Promise<AuditTrail> {
    // checked before anything is opened: a bad option leaves no lock, worker or trail behind
    const queue = queueSettings(options);
    const redactor = TrailProtection.check(options);
    const events: ChannelEvents = {
      onDurable: (total) => trail?.onDurable(total),
      onRecycle: (buffer) => trail?.framer.recycle(buffer),
      onError: (code, message, retrying) =>
        reportDiagnostic({
          kind: 'write-failed',
          message: `${message}${retrying ? ' (retrying)' : ''}`,
          detail: { code },
        }),
    };
    let trail: AuditTrail | undefined;
    // The content mode recorded when the trail was created (memory and stdout trails: plain).
    let trailMode: ContentMode = 'plain';
    if (options.postgres !== undefined) {
      if (options.dir !== undefined || options.store !== undefined) {
        throw new AuditError('CONFIG_INVALID', 'postgres: give one of dir, store and postgres', {
          field: 'postgres',
        });
      }
      const { content, redact: _redact, keys: _keys, postgres, ...rest } = options;
      const target = typeof postgres === 'string' ? { url: postgres } : postgres;
      const pgOptions = { ...stripUnclonable(rest), postgres: stripUnclonable(target) } as OpenPgOptions;
      const mode = typeof content === 'object' ? content.default : content;
      if (mode !== undefined) pgOptions.content = mode;
      const opened = await WorkerChannel.start(pgOptions, events);
      trail = new AuditTrail(
        { origin: opened.meta.origin, verifierKey: opened.meta.verifierKey, ...seedOf(opened.sealSeed) },
        options,
        queue,
      );
      trail.channel = opened.channel;
      trail.postgres = target;
      trailMode = opened.meta.content;
    } else if (options.store !== undefined) {
      if (options.dir !== undefined) {
        throw new AuditError('CONFIG_INVALID', 'dir and store: give one, not both', { field: 'store' });
      }
      const opened =
        options.store === 'stdout'
          ? openStdoutAppender(options)
          : openMemoryAppender(options.store === 'memory' ? undefined : options.store, options);
      trail = new AuditTrail(opened.init, options, queue);
      trail.channel = new InlineChannel(opened.appender, events, opened.release);
    } else {
      if (options.dir === undefined || options.dir === '') {
        throw new AuditError('CONFIG_INVALID', 'dir: a trail directory (or store: "memory") is required', {
          field: 'dir',
        });
      }
      const { content, redact: _redact, keys: _keys, ...rest } = options;
      const fileOptions: OpenFileOptions = { ...rest, dir: options.dir };
      // A new trail records the default content mode.
      const mode = typeof content === 'object' ? content.default : content;
      if (mode !== undefined) fileOptions.content = mode;
      let opened: { meta: TrailMeta; sealSeed?: string; channel: Channel };
      if (options.worker === false) {
        const o = openFileAppender(fileOptions);
        opened = { ...o, channel: new InlineChannel(o.appender, events, o.release) };
      } else {
        opened = await WorkerChannel.start(stripUnclonable(fileOptions), events);
      }
      const init = {
        origin: opened.meta.origin,
        verifierKey: opened.meta.verifierKey,
        ...seedOf(opened.sealSeed),
      };
      trail = new AuditTrail(init, options, queue);
      trail.channel = opened.channel;
      trailMode = opened.meta.content;
    }
    try {
      // A PostgreSQL log's content keys are in its key directory, beside its signing keys.
      const keysDir = trail.postgres === undefined ? undefined : pgKeysDir(trail.postgres);
      trail.protection = await TrailProtection.open(
        options,
        redactor,
        trail.origin,
        trailMode,
        options.dir,
        keysDir,
      );
    } catch (err) {
      await trail.channel.close();
      throw err;
    }
    if (trail.protection !== undefined) {
      trail.protection.onResolved = () => trail.drainWaiting();
      trail.prepareOptions = { ...trail.prepareOptions, ...trail.protection.prepare };
      const loaded = trail.protection.keysLoaded();
      if (loaded !== undefined) trail.recordOwn(loaded);
    }
    if (options.handleExit !== false) registerForExit(trail);
    // Reads of the trail recorded while another process held it (see store/pending-reads.ts).
    if (options.dir !== undefined) await ingestPendingReads(trail, trailLayout(options.dir));
    return trail;
  }

  /**
   * Records an event. Synchronous: validates, serializes and queues it, and returns its id.
   * Never throws for I/O; durability is `flush()`'s or `emitDurable()`'s business.
   * @throws AuditError EVENT_INVALID (names the field), TRAIL_CLOSED, BUFFER_FULL (policy `reject`).
   */
  emit(event: AuditEventInput): string {
    if (this.closed) throw new AuditError('TRAIL_CLOSED', 'trail is closed');
    return this.queue(this.prepare(event));
  }

  /**
   * Records an event of a type the trail writes about itself (`isTrailOwnType`: a read of the
   * trail, an erasure, retention, an anomaly finding), which `emit()` refuses: for code that acts
   * for the trail, such as the `record` handler of `detectAnomalies`, the CLI's and the
   * collector's records of reads. Never for what an application or producer sends: `verify`
   * takes an erasure or expiry entry as the explanation of the payloads erased by it.
   * @throws AuditError EVENT_INVALID, TRAIL_CLOSED, BUFFER_FULL (policy `reject`).
   */
  recordOwn(event: AuditEventInput): string {
    if (this.closed) throw new AuditError('TRAIL_CLOSED', 'trail is closed');
    return this.queue(prepareEvent(event, this.prepareOptions));
  }

  private queue(prepared: PreparedEvent): string {
    if (this.full(1) && !this.makeRoom()) return prepared.id;
    this.enqueue(prepared);
    return prepared.id;
  }

  /**
   * Validates and serializes an event exactly as `emit()` would (with this trail's redaction and
   * content protection), without queueing it: for callers that check a whole batch before
   * recording any of it, then hand the result to {@link emitPrepared}.
   * @throws AuditError EVENT_INVALID (names the field; also for a type the trail writes itself).
   */
  prepare(event: unknown): PreparedEvent {
    const prepared = prepareEvent(event, this.prepareOptions);
    refuseTrailOwnType(prepared.type);
    return prepared;
  }

  /**
   * Records events returned by this trail's {@link prepare}, in order. Under the `reject` policy
   * the batch is all or nothing: when the queue cannot take every event, none is queued; so is a
   * batch holding a type the trail records itself, which `prepare` would have refused.
   * @throws AuditError TRAIL_CLOSED, BUFFER_FULL (policy `reject`), EVENT_INVALID.
   */
  emitPrepared(events: readonly PreparedEvent[]): void {
    if (this.closed) throw new AuditError('TRAIL_CLOSED', 'trail is closed');
    for (const prepared of events) refuseTrailOwnType(prepared.type);
    if (this.overflow === 'reject' && this.full(events.length)) this.makeRoom();
    for (const prepared of events) {
      if (this.full(1) && !this.makeRoom()) continue;
      // The caller's object: framing sets its key slot, and may encrypt its content in place.
      this.enqueue(copyPrepared(prepared));
    }
  }

  /**
   * Records an event and resolves with its id once it is durable (synced to disk). Under the
   * `count` policy it waits for room in a full queue rather than be dropped.
   * @throws AuditError EVENT_INVALID, TRAIL_CLOSED, BUFFER_FULL (policy `reject`).
   */
  async emitDurable(event: AuditEventInput): Promise<string> {
    return this.durable(event, false);
  }

  /** {@link recordOwn}, resolving once the entry is durable. */
  recordOwnDurable(event: AuditEventInput): Promise<string> {
    return this.durable(event, true);
  }

  private async durable(event: AuditEventInput, own: boolean): Promise<string> {
    if (this.overflow !== 'count') {
      const id = own ? this.recordOwn(event) : this.emit(event);
      await this.flush();
      return id;
    }
    // Under `count` a full queue drops events; this one was promised durable, so it waits for room.
    const prepared = own ? prepareEvent(event, this.prepareOptions) : this.prepare(event);
    while (this.full(1)) {
      if (this.closed) throw new AuditError('TRAIL_CLOSED', 'trail is closed');
      await this.flush();
    }
    if (this.closed) throw new AuditError('TRAIL_CLOSED', 'trail is closed');
    this.enqueue(prepared);
    await this.flush();
    return prepared.id;
  }

  /** Resolves when every event emitted before the call is durable. */
  flush(): Promise<void> {
    this.sendPending();
    const target = this.emitted;
    if (this.durableCount >= target) return Promise.resolve();
    this.channel.hold(true);
    return new Promise((resolve) => {
      this.waiters.push({
        target,
        resolve: () => {
          this.channel.hold(false);
          resolve();
        },
      });
    });
  }

  /**
   * Issues a signed checkpoint now (after everything emitted so far).
   * @throws AuditError TRAIL_CLOSED.
   */
  async checkpoint(): Promise<void> {
    if (this.closed) throw new AuditError('TRAIL_CLOSED', 'trail is closed');
    await this.flush();
    await this.channel.checkpoint();
  }

  /**
   * Erases the content payloads of every entry whose `subject` is `subject` (GDPR Art. 17) and
   * records the erasure as an `audit.erasure` entry. Commitments stay, so the trail still
   * verifies and proves; reading shows those fields as erased. Runs after everything emitted
   * before the call is durable.
   * @throws AuditError USAGE when `subject` is empty or the trail keeps no entries (stdout); STORE_IO.
   */
  async eraseSubject(subject: string, options: { reason?: string } = {}): Promise<ErasureCount> {
    if (typeof subject !== 'string' || subject === '')
      throw new AuditError('USAGE', 'subject: expected a non-empty string', { field: 'subject' });
    if (options.reason !== undefined && typeof options.reason !== 'string')
      throw new AuditError('USAGE', 'reason: expected a string', { field: 'reason' });
    if (this.closed) throw new AuditError('TRAIL_CLOSED', 'trail is closed');
    await this.flush();
    if (this.postgres !== undefined) return this.shredSubject(this.postgres, subject, options.reason);
    // The subject's data key first: from then on its ciphertexts are unreadable everywhere.
    if (this.protection?.subjectKeys === true) {
      await this.protection.destroySubject(subject);
      this.sendKeyUpdate(); // the writer thread's copy goes too
    } else if (this.dir !== undefined) {
      // Opened without encrypt fields (the CLI opens with the trail.json mode), the trail may
      // still hold subject keys from content written under another policy.
      await TrailProtection.destroyStoredSubjectKey(this.dir, this.keys ?? this.protection?.ring, subject);
    }
    return this.channel.erase(subject, options.reason);
  }

  /**
   * Applies a retention policy (docs/retention.md): prunes the oldest segments whose entries are
   * all past their keep period and under no legal hold (keeping a signed boundary, so the rest
   * still verifies and proves), erases expired content payloads (commitments stay) and archives
   * old sealed segments; records each action in the trail. With `dryRun`, only reads and reports
   * the plan. Runs after everything emitted before the call is durable.
   * @throws AuditError USAGE (not a directory trail), CONFIG_INVALID (holds.json), STORE_IO, ...
   */
  async applyRetention(
    policy: RetentionPolicy,
    options: { dryRun?: boolean } = {},
  ): Promise<RetentionResult> {
    const dir = this.readableDir('retention');
    if (this.closed) throw new AuditError('TRAIL_CLOSED', 'trail is closed');
    await this.flush();
    if (options.dryRun === true) return planRetentionRun(trailLayout(dir), policy, Date.now());
    return this.channel.retention(policy);
  }

  /**
   * Places a legal hold: the entries it covers are neither pruned nor lose content until it is
   * removed. Recorded as a `retention.hold_added` entry (durable when this resolves).
   * @throws AuditError CONFIG_INVALID naming the field (or an existing id), USAGE, STORE_IO.
   */
  async addLegalHold(hold: Omit<LegalHold, 'createdAt'> & { createdAt?: string }): Promise<LegalHold> {
    const dir = this.readableDir('retention hold');
    const placed = addHold(trailLayout(dir), {
      ...hold,
      createdAt: hold.createdAt ?? new Date().toISOString(),
    });
    await this.recordOwnDurable({
      type: 'retention.hold_added',
      outcome: 'success',
      ...(placed.by === undefined ? {} : { actor: { id: placed.by } }),
      meta: { hold: placed.id, reason: placed.reason, scope: JSON.stringify(placed.scope ?? 'whole trail') },
    });
    return placed;
  }

  /**
   * Removes a legal hold; recorded as a `retention.hold_removed` entry.
   * @throws AuditError NOT_FOUND (no such hold), USAGE, STORE_IO.
   */
  async removeLegalHold(id: string, options: { by?: string; reason?: string } = {}): Promise<LegalHold> {
    const dir = this.readableDir('retention hold');
    const removed = removeHold(trailLayout(dir), id);
    await this.recordOwnDurable({
      type: 'retention.hold_removed',
      outcome: 'success',
      ...(options.by === undefined ? {} : { actor: { id: options.by } }),
      meta: { hold: removed.id, ...(options.reason === undefined ? {} : { reason: options.reason }) },
    });
    return removed;
  }

  /** The legal holds of this trail. */
  legalHolds(): LegalHold[] {
    return readHolds(trailLayout(this.readableDir('retention hold')));
  }

  /**
   * Entries matching `filter`, newest first unless `order: 'oldest'` (read/query.ts), once
   * everything emitted before the call is durable. Directory trails only.
   * @throws AuditError USAGE for a bad filter, or for a memory or stdout trail.
   */
  async *query(filter: QueryFilter = {}, options: QueryOptions = {}): AsyncGenerator<AuditEntry> {
    await this.flush();
    if (this.postgres !== undefined) {
      const source = await this.pgSource(this.postgres);
      try {
        yield* query(source, filter, options);
      } finally {
        source.close();
      }
      return;
    }
    yield* query(this.readableDir(), filter, options);
  }

  /** The entry with this id, or undefined, once everything emitted before is durable. */
  async get(id: string): Promise<AuditEntry | undefined> {
    await this.flush();
    if (this.postgres !== undefined) {
      const source = await this.pgSource(this.postgres);
      try {
        return await getEntry(source, id);
      } finally {
        source.close();
      }
    }
    return getEntry(this.readableDir(), id);
  }

  /**
   * Erasure on a PostgreSQL log, whose rows are never rewritten: crypto-shredding
   * (retention/crypto-shred.ts). Refused, before anything is destroyed, unless every payload about
   * the subject is encrypted under the subject's own data key. The counts recorded are the
   * payloads under the key destroyed, wherever they are in the log.
   * @throws AuditError USAGE (not content mode encrypt, or payloads the key does not reach).
   */
  private async shredSubject(
    target: PostgresTarget,
    subject: string,
    reason: string | undefined,
  ): Promise<ErasureCount> {
    const log = target.log ?? 'default';
    if (this.protection?.subjectKeys !== true) {
      throw new AuditError(
        'USAGE',
        `erase: log ${log} is not in content mode encrypt: its payloads (in clear, or keyed hashes that still match a presented text) are in append-only rows that are never rewritten; on PostgreSQL erasure destroys the subject's data key, so keep personal data in an encrypt-mode log (docs/postgres.md)`,
      );
    }
    // Loaded only when a PostgreSQL log is erased.
    const { planCryptoShred } = await import('../retention/crypto-shred.js');
    const source = await this.pgSource(target);
    const count: ErasureCount = { entries: 0, fields: 0 };
    try {
      // Entries below this seq are all stored, so all read by the query that follows.
      const stored = source.size();
      const before = await query(source, { subject }).toArray();
      const plan = planCryptoShred(before);
      const left = plan.plain + plan.masterKey;
      if (left > 0) {
        throw new AuditError(
          'USAGE',
          `erase: ${left} content fields about this subject in log ${log} are in clear (${plan.plain}) or under the master key (${plan.masterKey}), which destroying the subject's key does not reach; nothing was destroyed (docs/postgres.md)`,
        );
      }
      const generation = await this.protection.destroySubject(subject);
      this.sendKeyUpdate(); // the writer thread's copy goes too
      if (generation !== undefined) {
        // Events emitted while this ran may have been written under the key before it went: once
        // they are stored, the entries after those read above are read too, and only the payloads
        // under the key destroyed are counted. (Counted from the read above alone, those events
        // were missing, and payloads under a key an earlier erasure destroyed were counted again.)
        let shredded = planCryptoShred(before, generation);
        try {
          await this.flush();
          const seqFrom = before.reduce((next, e) => Math.max(next, e.seq + 1), stored);
          const since = await query(source, { subject, seqFrom }).toArray();
          shredded = planCryptoShred([...before, ...since], generation);
        } catch (err) {
          // The key is gone: the erasure is recorded whatever became of this read (a dropped
          // connection), with what the read before it counted; thrown, it left no record.
          count.countIncomplete = true;
          reportDiagnostic({
            kind: 'erasure-count-incomplete',
            message: `erase: the subject's key was destroyed; its payloads written meanwhile could not be counted: ${(err as Error)?.message ?? String(err)}`,
            detail: { code: isAuditError(err) ? err.code : undefined },
          });
        }
        count.entries = shredded.entries;
        count.fields = shredded.fields;
      }
    } finally {
      source.close();
    }
    await this.recordOwnDurable({
      type: 'audit.erasure',
      subject,
      outcome: 'success',
      meta: {
        entries: count.entries,
        fields: count.fields,
        method: 'crypto-shredding',
        ...(reason === undefined ? {} : { reason }),
        ...(count.countIncomplete === true ? { countIncomplete: true } : {}),
      },
    });
    return count;
  }

  /** A reader of the trail's PostgreSQL log (the driver is loaded only for PostgreSQL trails). */
  private async pgSource(target: PostgresTarget) {
    const { PgSource } = await import('../store/postgres/index.js');
    return new PgSource(target.url, target.log);
  }

  private readableDir(verb = 'query'): string {
    if (this.dir === undefined) {
      throw new AuditError(
        'USAGE',
        `${verb}: only a directory trail is read back (use verifyTrail on a memory store)`,
        {
          field: 'dir',
        },
      );
    }
    return this.dir;
  }

  /** Flushes, writes the final checkpoint and seal, and releases the trail. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Events emitted while the first flush waits are taken and written by the second; from
      // then on emit() throws TRAIL_CLOSED (an application that keeps emitting cannot hold
      // close() open).
      await this.flush();
      this.closed = true;
      if (this.lost > 0) this.recordOverflow();
      await this.flush();
      if (this.timer !== undefined) clearTimeout(this.timer);
      await this.channel.close();
      unregisterForExit(this);
    })();
    return this.closing;
  }

  /** Flush and close from a synchronous context (process exit, signals). */
  closeSync(): void {
    if (this.closed) {
      // close() was called and not awaited: wait for the writer to finish it
      this.channel.closeSync(EXIT_TIMEOUT_MS);
      return;
    }
    if (this.lost > 0) this.recordOverflow();
    this.closed = true;
    this.sendPending();
    this.sendWaitingSync();
    if (!this.channel.waitDurableSync(this.emitted, EXIT_TIMEOUT_MS)) {
      reportDiagnostic({
        kind: 'exit-flush-timeout',
        message: `exit: ${this.emitted - this.channel.durable()} events not durable after ${EXIT_TIMEOUT_MS} ms`,
      });
    }
    this.channel.closeSync(EXIT_TIMEOUT_MS);
    unregisterForExit(this);
  }

  /** Events accepted and not yet durable. */
  get queueDepth(): number {
    return this.emitted - this.durableCount;
  }

  /** Events dropped under the `count` policy and not yet recorded as a `system.overflow` entry. */
  get droppedPending(): number {
    return this.lost;
  }

  private enqueue(prepared: PreparedEvent): void {
    this.frame(prepared);
    this.emitted++;
    if (prepared.critical || this.framer.count >= this.batchSize) this.sendPending();
    else this.schedule();
  }

  /**
   * Frames `p` with the key slot of its content to encrypt. While the writer is more than
   * {@link ENCRYPT_HERE_BACKLOG} batches behind and the key is at hand, this thread encrypts the
   * content itself: in encrypt mode AES is the largest share of the writer's work, and the caller
   * would otherwise soon wait for room in the queue (docs/benchmarks.md).
   */
  private frame(p: PreparedEvent): void {
    const later = p.protectLater;
    if (later !== undefined) {
      const protection = this.protection!;
      const slot = protection.slotFor(later.subject);
      later.slot = slot;
      if (!protection.resolved(slot)) {
        if (!this.unresolved.includes(slot)) this.unresolved.push(slot);
      } else if (this.emitted - this.channel.durable() > ENCRYPT_HERE_BACKLOG * this.batchSize)
        protection.encryptHere(p, this.origin);
    }
    this.framer.add(p);
  }

  /**
   * True when `n` more events would pass the queue's bound. The count of durable entries the
   * writer's messages bring is behind while the caller emits without yielding to the event loop
   * (the messages wait for it): before the queue counts as full, the shared counter is asked.
   */
  private full(n: number): boolean {
    if (this.emitted - this.durableCount + n <= this.maxQueue) return false;
    this.durableCount = Math.max(this.durableCount, this.channel.durable());
    if (this.emitted - this.durableCount + n > this.maxQueue) return true;
    if (this.lost > 0) this.recordOverflow(); // as soon as there is room
    return false;
  }

  /** The queue is full: apply the policy. Returns false when the event must not be queued. */
  private makeRoom(): boolean {
    switch (this.overflow) {
      case 'reject':
        throw new AuditError('BUFFER_FULL', `queue full: ${this.maxQueue} events are waiting to be written`, {
          maxQueue: this.maxQueue,
        });
      case 'count':
        if (this.lost === 0) this.lostSince = new Date().toISOString();
        this.lost++;
        reportDiagnostic({
          kind: 'overflow',
          message: 'queue full: events are being dropped and counted (policy count)',
        });
        return false;
      case 'block':
        this.sendPending();
        this.sendWaitingSync(); // the wait below blocks the event loop: no key fetch could finish
        this.channel.waitDurableSync(this.emitted - this.maxQueue + this.batchSize, EXIT_TIMEOUT_MS * 6);
        this.durableCount = Math.max(this.durableCount, this.channel.durable());
        return true;
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.flushIntervalMs > 0) {
      // Unref'd: a process whose work is done ends now, not an interval later; its exit flushes.
      this.timer = setTimeout(() => this.sendPending(), this.flushIntervalMs).unref();
    } else {
      setImmediate(() => this.sendPending());
    }
  }

  private sendPending(): void {
    this.scheduled = false;
    if (this.retryBacklog.length > 0) this.retry();
    if (this.framer.count > 0) this.sendBatch();
  }

  /**
   * Takes the batch being built (even an empty one, to carry key changes) and sends it, or queues
   * it behind the batches that wait for subject keys.
   */
  private sendBatch(): void {
    const count = this.framer.count;
    const unresolved = this.unresolved;
    if (unresolved.length > 0) this.unresolved = [];
    const batch: OutBatch = {
      data: count === 0 ? new Uint8Array(0) : this.framer.take(),
      count,
      forget: this.protection?.takeForgotten(),
      unresolved: unresolved.length > 0 ? unresolved : NO_SLOTS,
    };
    if (this.waiting.length === 0 && batch.unresolved.length === 0) this.sendOut(batch);
    else {
      this.waiting.push(batch);
      this.drainWaiting();
    }
  }

  /** Sends the waiting batches, in order, up to the first whose keys are still being fetched. */
  private drainWaiting(): void {
    const protection = this.protection;
    while (this.waiting.length > 0) {
      const batch = this.waiting[0]!;
      if (protection !== undefined && !batch.unresolved.every((slot) => protection.resolved(slot))) return;
      this.waiting.shift();
      this.sendOut(batch);
    }
  }

  private sendOut(batch: OutBatch): void {
    const add = this.protection?.takeAdded();
    const keys: ContentKeyUpdate | undefined =
      add === undefined && batch.forget === undefined
        ? undefined
        : {
            ...(add === undefined ? {} : { add }),
            ...(batch.forget === undefined ? {} : { forget: batch.forget }),
          };
    if (batch.count > 0 || keys !== undefined) this.send(batch.data, batch.count, keys);
  }

  /**
   * At a synchronous exit, or when the queue is full: the slots still waiting for subject keys get
   * the master key, and every waiting batch goes now. Kept until their keys came, they held every
   * event sent meanwhile in memory, past the queue's bound (measured: a 450 MB heap while the keys
   * of a thousand new subjects were created).
   */
  private sendWaitingSync(): void {
    this.protection?.resolveAllWithMaster();
    this.drainWaiting();
  }

  /** Sends the content keys' changes (an erasure's destroyed key) in order with the batches. */
  private sendKeyUpdate(): void {
    if (this.protection !== undefined) this.sendBatch();
  }

  private send(data: Uint8Array, count: number, keys: ContentKeyUpdate | undefined): void {
    const batch = keys === undefined ? { data, count } : { data, count, keys };
    if (this.retryBacklog.length > 0) {
      this.retryBacklog.push(batch);
      return;
    }
    try {
      this.channel.send(data, count, keys);
    } catch (err) {
      // Inline appender: keep the batch and retry; emit never throws for I/O.
      this.retryBacklog.push(batch);
      reportDiagnostic({
        kind: 'write-failed',
        message: `${(err as Error).message} (retrying)`,
        detail: { code: (err as AuditError).code },
      });
      setTimeout(() => this.sendPending(), 200).unref();
    }
  }

  private retry(): void {
    while (this.retryBacklog.length > 0) {
      const batch = this.retryBacklog[0]!;
      try {
        this.channel.send(batch.data, batch.count, batch.keys);
      } catch {
        setTimeout(() => this.sendPending(), 1000).unref();
        return;
      }
      this.retryBacklog.shift();
    }
  }

  private onDurable(total: number): void {
    // `full` may have read a newer total from the shared counter than this message carries.
    this.durableCount = Math.max(this.durableCount, total);
    if (this.waiters.length > 0) {
      const ready = this.waiters.filter((w) => w.target <= total);
      this.waiters = this.waiters.filter((w) => w.target > total);
      for (const w of ready) w.resolve();
    }
    if (this.lost > 0 && this.emitted - this.durableCount < this.maxQueue) this.recordOverflow();
  }

  /** Records how many events the `count` policy dropped, as soon as there is room. */
  private recordOverflow(): void {
    const lost = this.lost;
    this.lost = 0;
    this.enqueue(
      prepareEvent({
        type: 'system.overflow',
        severity: 'critical',
        outcome: 'failure',
        meta: { lost, since: this.lostSince, until: new Date().toISOString() },
      }),
    );
  }
}

/** A framed batch on its way to the appender, with the key slots it waits for and those to drop after it. */
interface OutBatch {
  data: Uint8Array;
  count: number;
  forget: number[] | undefined;
  unresolved: readonly number[];
}

const NO_SLOTS: readonly number[] = [];

/** A copy of `p` that shares nothing mutable with it. */
function copyPrepared(p: PreparedEvent): PreparedEvent {
  const copy: PreparedEvent = { ...p, content: p.content.map(([name, value]) => [name, value]) };
  if (p.protectLater !== undefined)
    copy.protectLater = { ...p.protectLater, fields: [...p.protectLater.fields] };
  return copy;
}

function seedOf(seed: string | undefined): { sealSeed?: string } {
  return seed === undefined ? {} : { sealSeed: seed };
}

/** Worker data must be cloneable: keep plain option values only. */
function stripUnclonable<T extends object>(options: T): T {
  return Object.fromEntries(
    Object.entries(options).filter(([, v]) => typeof v !== 'function' && typeof v !== 'object'),
  ) as T;
}

export type { Appender };
