/**
 * The appender: turns framed events into sealed entries. For each entry it salts and digests the
 * content payloads, links `prev`, assigns the gap-free `seq`, hashes the RFC 6962 leaf and extends
 * the Merkle tree; per batch it writes once and syncs once (group commit). It issues signed
 * checkpoints on an interval, on segment rotation and on close, and seals each forward-secure
 * epoch. It owns the store, and runs in the writer's worker thread or inline (memory store).
 */
import { Checkpoint, signCheckpoint } from '../chain/checkpoint.js';
import type { NoteSigner } from '../chain/note.js';
import { GENESIS_PREV } from '../chain/record.js';
import { hashLeaf } from '../chain/rfc6962.js';
import type { SealRecord } from '../chain/seal.js';
import type { TreeWriter } from '../chain/tree.js';
import { reportDiagnostic } from '../diagnostics.js';
import { AuditError } from '../errors.js';
import { prepareEvent } from '../event/prepare.js';
import { applyRetention, type RetentionResult } from '../retention/apply.js';
import {
  aboutSubject,
  type ErasureCount,
  type ErasureTarget,
  eraseLine,
  eraseTornLine,
} from '../retention/erase.js';
import type { RetentionPolicy } from '../retention/policy.js';
import {
  type CheckpointReason,
  rewriteQuarantine,
  type StoredCheckpoint,
  type TrailLayout,
} from '../store/index.js';
import { ContentKeyTable } from './content-sealing.js';
import { frameEvent } from './framing.js';
import { forEachFramed, LineBuilder } from './line-builder.js';

/** The entries, as the appender needs them from a store. */
export interface EntryLog {
  readonly size: number;
  readonly lastCommitted: string | undefined;
  append(lines: Buffer, count: number, minTs: string, maxTs: string, now: number): void;
  setLast(committed: string): void;
  sync(): void;
  /**
   * Batches appended and those of them already in the store, where writes are queued to another
   * thread (segment files, store/append-thread.ts); absent where `append` writes them.
   */
  writes?(): { issued: number; written: number };
  /** Syncs off the calling thread where the store can (segment files); absent otherwise. */
  syncAsync?(done: (err: Error | undefined) => void): void;
  needsRotation(now: number): boolean;
  /**
   * Rewrites stored lines of sealed segments (erasure); `transform` returns a new line or
   * undefined. Absent where entries are not kept (stdout).
   */
  rewriteLines?(transform: (line: string) => string | undefined): number;
  /** Gives `visit` every line {@link rewriteLines} would transform, reading only. */
  scanLines?(visit: (line: string) => void): void;
  rotate(treeSize: number, root: Buffer): unknown;
  close(): void;
  /** The trail directory, where entries are kept as segment files (retention works on them). */
  readonly layout?: TrailLayout;
}

/** Where checkpoints and seals are kept. */
export interface SealedState {
  appendCheckpoint(cp: StoredCheckpoint): void;
  latestCheckpoint(): StoredCheckpoint | undefined;
  appendSeal(seal: SealRecord): void;
  lastSeal(): SealRecord | undefined;
}

/** The writer's current forward-seal key. */
export interface SealKey {
  readonly epoch: number;
  seal(record: Omit<SealRecord, 'tag'>): SealRecord;
  evolve(): void;
}

/** Everything the appender works on. */
export interface AppenderParts {
  origin: string;
  /** Trail creation time (ms): start of seal epoch 0. */
  t0: number;
  sealEpochMs: number;
  log: EntryLog;
  tree: TreeWriter;
  signer: NoteSigner;
  sealKey: SealKey;
  state: SealedState;
  /** Receives each batch of stored lines once it is appended, before it is synced (stdout mirror). */
  mirror?: (lines: Buffer) => void;
  now?: () => number;
}

/** Appender tuning. */
export interface AppenderOptions {
  /** Checkpoint at most this often when entries were added; default 10 s. */
  checkpointIntervalMs?: number;
  maxStringBytes?: number;
}

/** The sealing engine of one trail. */
export class Appender {
  private prev: Buffer;
  private readonly now: () => number;
  private lastCheckpointSize = -1;
  private lastCheckpointAt = 0;
  private readonly checkpointIntervalMs: number;
  private readonly lines = new LineBuilder();
  private closed = false;
  /** When this appender began to seal with the current epoch's key (open, or the last evolve). */
  private keySince: number;
  /** Keys of the content this appender encrypts (content-sealing.ts). */
  readonly contentKeys = new ContentKeyTable();

  constructor(
    private readonly parts: AppenderParts,
    private readonly options: AppenderOptions = {},
  ) {
    this.now = parts.now ?? Date.now;
    this.keySince = this.now();
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? 10_000;
    const last = parts.log.lastCommitted;
    this.prev = last === undefined ? GENESIS_PREV : hashLeaf(last);
    const latest = parts.state.latestCheckpoint();
    if (latest !== undefined) this.lastCheckpointSize = latest.size;
  }

  /** Number of entries in the trail (= next seq). */
  get size(): number {
    return this.parts.log.size;
  }

  /**
   * Appends batches of framed events (framing.ts): one write, then one sync (group commit) unless
   * `sync` is false, in which case the caller makes them durable with {@link syncAsync}.
   * Returns the seq of the last entry.
   * @throws AuditError STORE_IO when the batch cannot be written; nothing of it is then counted.
   */
  appendBatch(batches: readonly Uint8Array[], sync = true): number {
    const { log, tree } = this.parts;
    const now = this.now();
    if (log.needsRotation(now)) this.rotate();
    const lines = this.lines;
    lines.reset();
    const startSize = tree.size;
    let seq = log.size;
    let prev = this.prev;
    let count = 0;
    let minTs = '';
    let maxTs = '';
    let last = { start: 0, end: 0, leaf: prev };
    let out: Buffer;
    try {
      for (const batch of batches) {
        const src = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
        forEachFramed(src, (ev) => {
          if (ev.seal === undefined) last = lines.appendLine(src, ev, prev, seq);
          else {
            const sealed = this.contentKeys.seal(src, ev, this.parts.origin);
            last = lines.appendLine(sealed.src, sealed.ev, prev, seq);
          }
          prev = last.leaf;
          tree.append(prev); // may flush on its own: the tree is cut back below on any failure
          if (minTs === '' || ev.ts < minTs) minTs = ev.ts;
          if (ev.ts > maxTs) maxTs = ev.ts;
          seq++;
          count++;
        });
      }
      if (count === 0) return seq - 1;
      out = lines.bytes();
      // The tree's files first: once the lines are handed to the log they are stored (the append
      // thread writes them), so nothing after that may fail the batch, which the caller would
      // then append a second time with the chain going on from before it. A tree ahead of the
      // lines is cut back at the next open (open-file.ts), as one the append thread left is.
      tree.flush();
      log.append(out, count, minTs, maxTs, now);
    } catch (err) {
      tree.truncate(startSize);
      throw err;
    }
    // The entries are written: the chain goes on from them even if the sync below fails (a
    // caller that retried the batch would write it twice).
    log.setLast(lines.text(last.start, last.end));
    this.prev = prev;
    if (sync) log.sync();
    this.copyOut(out);
    return seq - 1;
  }

  /**
   * Copies stored lines to the mirror (stdout). The batch is in the trail already: a copy that
   * fails is reported, never thrown, for a batch that failed would be appended again.
   */
  private copyOut(lines: Buffer): void {
    try {
      this.parts.mirror?.(lines);
    } catch (err) {
      reportDiagnostic({
        kind: 'write-failed',
        message: `cannot copy stored entries to stdout (they are in the trail directory): ${(err as Error).message}`,
        detail: { code: (err as NodeJS.ErrnoException).code },
      });
    }
  }

  /**
   * Batches appended so far and those of them in the store: a {@link syncAsync} makes durable the
   * batches written when it begins. Equal (zero) where appending writes at once.
   */
  writes(): { issued: number; written: number } {
    return this.parts.log.writes?.() ?? { issued: 0, written: 0 };
  }

  /** Makes every appended entry durable (fdatasync of the open segment). */
  sync(): void {
    this.parts.log.sync();
  }

  /** Makes every appended entry durable, off the calling thread where the store allows. */
  syncAsync(done: (err: Error | undefined) => void): void {
    const { log } = this.parts;
    if (log.syncAsync === undefined) {
      log.sync();
      done(undefined);
    } else log.syncAsync(done);
  }

  /** Appends one event built here (recovery, overflow records) through the same path. */
  appendEvent(input: Record<string, unknown>): number {
    const opts =
      this.options.maxStringBytes === undefined ? {} : { maxStringBytes: this.options.maxStringBytes };
    return this.appendBatch([frameEvent(prepareEvent(input, opts))]);
  }

  /**
   * Erases the content payloads of every entry whose subject is `subject` (retention/erase.ts) and
   * records the erasure as an `audit.erasure` entry. The open segment is sealed first, so that
   * only sealed segments are rewritten and appending goes on in a fresh one.
   * @throws AuditError USAGE when the store keeps no entries (stdout); STORE_IO on an I/O error.
   */
  eraseSubject(subject: string, reason: string | undefined): ErasureCount {
    const { log } = this.parts;
    if (log.rewriteLines === undefined || log.scanLines === undefined) {
      throw new AuditError('USAGE', 'erase: this trail writes to stdout and keeps no entries to erase');
    }
    this.rotate();
    // The audit.erasure entry takes the next seq: each marker names it. It is counted first and
    // appended (durably) before anything is rewritten, so a crash while erasing leaves markers
    // naming it, never a seq the next entry would take (verify would then fail for good); it may
    // count payloads not yet erased, which erasing again finishes under an entry of its own.
    const target: ErasureTarget = { subject, at: new Date(this.now()).toISOString(), by: log.size };
    if (reason !== undefined) target.reason = reason;
    const quarantine = log.layout?.quarantineDir;
    const erase = (count: ErasureCount, write: boolean): void => {
      if (write) log.rewriteLines!((line) => eraseLine(line, target, count));
      else log.scanLines!((line) => void eraseLine(line, target, count));
      if (quarantine !== undefined)
        rewriteQuarantine(quarantine, (line) => {
          const erased = eraseTornLine(line, aboutSubject(subject), target, count);
          return write ? erased : undefined;
        });
    };
    const planned: ErasureCount = { entries: 0, fields: 0 };
    erase(planned, false);
    this.appendEvent({
      type: 'audit.erasure',
      subject,
      outcome: 'success',
      meta: {
        entries: planned.entries,
        fields: planned.fields,
        ...(planned.quarantine === undefined
          ? {}
          : {
              quarantineErased: planned.quarantine.erased,
              quarantineUnreadable: planned.quarantine.unreadable,
            }),
        ...(reason === undefined ? {} : { reason }),
      },
    });
    const count: ErasureCount = { entries: 0, fields: 0 };
    erase(count, true);
    return count;
  }

  /**
   * Applies a retention policy (retention/apply.ts): seals the open segment first, so that only
   * sealed segments are pruned, rewritten or archived while appending goes on in a fresh one;
   * each action and the run are recorded as entries.
   * @throws AuditError USAGE when the trail keeps no segment files; the codes of applyRetention.
   */
  applyRetention(policy: RetentionPolicy): RetentionResult {
    const { log, tree, signer, origin } = this.parts;
    if (log.layout === undefined) {
      throw new AuditError('USAGE', 'retention: only a directory trail keeps segments to apply a policy to');
    }
    this.rotate();
    const record = (event: Record<string, unknown>): void => {
      this.appendEvent(event);
    };
    return applyRetention({ layout: log.layout, origin, tree, signer, now: this.now(), record }, policy);
  }

  /** Signs and stores a checkpoint of the current tree, unless one of this size exists. */
  checkpoint(reason: CheckpointReason, force = false): StoredCheckpoint | undefined {
    const { tree, state, signer, origin } = this.parts;
    if (!force && tree.size === this.lastCheckpointSize) return undefined;
    this.parts.log.sync(); // a signed checkpoint never covers an entry a power cut could still lose
    const note = signCheckpoint(new Checkpoint(origin, tree.size, tree.root()), signer);
    const cp: StoredCheckpoint = { size: tree.size, time: new Date(this.now()).toISOString(), reason, note };
    state.appendCheckpoint(cp);
    this.lastCheckpointSize = tree.size;
    this.lastCheckpointAt = this.now();
    return cp;
  }

  /** Periodic work: interval checkpoints and the seals of finished epochs. */
  tick(): void {
    if (this.closed) return;
    const now = this.now();
    if (now - this.lastCheckpointAt >= this.checkpointIntervalMs) this.checkpoint('interval');
    this.sealFinishedEpochs(now);
  }

  /**
   * Seals every epoch whose scheduled end has passed (empty ones too), evolving the key each time;
   * and the current epoch early once its key has been in use here for an epoch's length. Each
   * close seals its partial epoch, so a trail opened and closed often runs ahead of the schedule
   * (format.md §7): without the second rule a writer opened then would keep one key, and leave its
   * entries unsealed, until the wall clock caught up — hours after a day of short runs.
   */
  sealFinishedEpochs(now: number): void {
    const { sealKey, t0, sealEpochMs } = this.parts;
    this.resumeSealKey();
    while (t0 + (sealKey.epoch + 1) * sealEpochMs <= now) this.sealCurrentEpoch();
    if (now - this.keySince >= sealEpochMs) this.sealCurrentEpoch();
  }

  /** Seals the current epoch with the current tree and erases its key (evolves). */
  private sealCurrentEpoch(): void {
    const { sealKey, t0, sealEpochMs, tree, state } = this.parts;
    const e = sealKey.epoch;
    this.parts.log.sync(); // as for checkpoints: the seal covers durable entries only
    const seal = sealKey.seal({
      epoch: e,
      start: t0 + e * sealEpochMs,
      end: t0 + (e + 1) * sealEpochMs,
      size: tree.size,
      root: tree.root().toString('base64'),
    });
    state.appendSeal(seal); // durable before the key that made it is erased
    sealKey.evolve();
    this.keySince = this.now();
  }

  /** After a crash between storing a seal and evolving its key, finish the evolve. */
  private resumeSealKey(): void {
    const last = this.parts.state.lastSeal();
    if (last !== undefined && last.epoch === this.parts.sealKey.epoch) this.parts.sealKey.evolve();
  }

  /** Seals the current segment and starts a new one, with a checkpoint. */
  rotate(): void {
    const { log, tree } = this.parts;
    log.rotate(tree.size, tree.root());
    this.checkpoint('rotation', true);
  }

  /**
   * Final checkpoint and the seal of the final partial epoch. The `close` checkpoint is signed even
   * when nothing was added since the last one: it says that nothing after it is this writer's
   * (unsigned-tail.ts).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sealFinishedEpochs(this.now());
    this.checkpoint('close', true);
    this.sealCurrentEpoch();
    this.parts.tree.sync();
    this.parts.tree.close();
    this.parts.log.close();
  }
}
