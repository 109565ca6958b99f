/**
 * Exactly-once delivery from remote sinks. A RemoteSink numbers its events (`meta.sinkId`, the
 * spool's id, and `meta.sinkSeq`, the event's place in it) and sends them in order, again after a
 * lost answer. The collector keeps, per producer (token name) and sink id, the highest sinkSeq it
 * recorded, and drops every event at or below it: a batch the trail holds but whose answer never
 * reached the producer is not recorded twice, and a stale repeat never lands after newer events.
 *
 * The state survives a restart: it is saved (`collector-sinks.json`, 0600, in the collector's directory) with a tree size it
 * covers, on close and every few minutes while the collector runs, and on open the entries from
 * that size on are scanned for stamps, so entries written after the last save (a crash) are
 * counted too. Without a saved state the whole trail is scanned once. The scan decodes only the
 * lines that hold a `"sinkSeq":`.
 *
 * A saved state must hold only durable entries (a seq saved for an event that never reached the
 * disk would drop its resend) and every stamped entry below its tree size. So a save takes the
 * size of the latest checkpoint first (those entries were durable, hence counted, before), then
 * a copy of the counts, then waits until everything emitted before the copy is durable, and only
 * then writes the copy with that size (see Collector).
 *
 * The state is bounded: a sink not heard from for `maxAgeMs` (default 30 days) is forgotten, and
 * past `maxSinks` (default 100,000) the one heard from least recently is. A forgotten sink's
 * events are taken as new: a repeat of a batch more than `maxAgeMs` old would be recorded again
 * (RemoteSink resends within minutes; its spool would have to sit unacknowledged for the whole
 * age). When each sink was last heard from is saved with the state; sinks found by the scan on
 * open count as heard from at open.
 */
import path from 'node:path';
import { NoteVerifier, openCheckpoint } from '../chain/index.js';
import { AuditError, isAuditError } from '../errors.js';
import { isRecord } from '../is-record.js';
import { decodeLine } from '../read/index.js';
import { DirSource, readIfExists, writeFileAtomic } from '../store/index.js';
import type { BatchProblem } from './ingest.js';

/** The state file, in the trail directory. */
export const SINK_STATE_FILE = 'collector-sinks.json';
/** Longest sink id accepted (RemoteSink's are 16 hex digits). */
const MAX_SINK_ID = 64;
const SINK_STAMP = Buffer.from('"sinkSeq":');

/** How much dedup state is kept (see the file header). */
export interface SinkStateLimits {
  /** Most sinks remembered; past it, the least recently heard from is forgotten. */
  maxSinks: number;
  /** A sink not heard from for this long (ms) is forgotten. */
  maxAgeMs: number;
}

/** The limits when none are given: 100,000 sinks, 30 days. */
export const DEFAULT_SINK_STATE_LIMITS: Readonly<SinkStateLimits> = {
  maxSinks: 100_000,
  maxAgeMs: 30 * 24 * 3600_000,
};

/** A saved or copied state: highest seq per sink, and when each was last heard from (ms). */
export interface SinkSnapshot {
  sinks: Record<string, number>;
  seen: Record<string, number>;
}

/** What a batch's sink stamps say: the events to record and the highest seq per sink after them. */
export interface SinkAdmission {
  /** Per event of the batch: true when it is a repeat of a recorded event (to drop). */
  duplicate: boolean[];
  duplicates: number;
  /** Sink key → highest seq once the batch is recorded; apply with {@link SinkSequences.commit}. */
  next: Map<string, number>;
}

function sinkKey(producer: string, sinkId: string): string {
  return `${producer}\u0000${sinkId}`;
}

/** What the state is rebuilt from: a trail directory's or a PostgreSQL log's reader. */
type TrailLines = Pick<DirSource, 'lineBytes' | 'latestCheckpoint'>;

/** The highest recorded sinkSeq of every (producer, sink id) heard from recently. */
export class SinkSequences {
  /** Sink key → highest seq and last heard from; in the order last heard from, oldest first. */
  private readonly last = new Map<string, { seq: number; seen: number }>();
  private readonly limits: Readonly<SinkStateLimits>;
  private readonly now: () => number;
  /** Sinks forgotten so far (by age or count). */
  forgotten = 0;

  /**
   * An empty state. `now` is the clock (ms) that dates when a sink was heard from.
   * @throws AuditError CONFIG_INVALID when a limit is not a positive integer.
   */
  constructor(limits: Partial<SinkStateLimits> = {}, now: () => number = Date.now) {
    const full = { ...DEFAULT_SINK_STATE_LIMITS, ...limits };
    for (const name of ['maxSinks', 'maxAgeMs'] as const) {
      if (!Number.isSafeInteger(full[name]) || full[name] < 1)
        throw new AuditError('CONFIG_INVALID', `sinkState.${name}: expected a positive integer`, {
          field: `sinkState.${name}`,
        });
    }
    this.limits = full;
    this.now = now;
  }

  /** Sinks known. */
  get size(): number {
    return this.last.size;
  }

  /** Sets a sink's seq, heard from at `seen`, as the most recently heard from. */
  private remember(key: string, seq: number, seen: number): void {
    this.last.delete(key);
    this.last.set(key, { seq, seen });
  }

  /** Forgets the sinks too old or past the count, least recently heard from first. */
  private prune(): void {
    const oldest = this.now() - this.limits.maxAgeMs;
    for (const [key, v] of this.last) {
      if (v.seen >= oldest && this.last.size <= this.limits.maxSinks) break;
      this.last.delete(key);
      this.forgotten++;
    }
  }

  /**
   * The state of a trail: the saved state, then the entries recorded after it.
   * @throws AuditError STORE_IO when the state file is not what this module writes.
   */
  static load(
    dir: string,
    source: TrailLines = new DirSource(dir),
    limits: Partial<SinkStateLimits> = {},
    now: () => number = Date.now,
  ): SinkSequences {
    const out = new SinkSequences(limits, now);
    const openedAt = now();
    const file = path.join(dir, SINK_STATE_FILE);
    const text = readIfExists(file);
    let from = 0;
    if (text !== undefined) {
      let saved: { treeSize?: unknown; sinks?: unknown; seen?: unknown };
      try {
        saved = JSON.parse(text) as typeof saved;
      } catch {
        throw new AuditError('STORE_IO', `${SINK_STATE_FILE}: not valid JSON`, { file });
      }
      if (!Number.isSafeInteger(saved.treeSize) || !isRecord(saved.sinks))
        throw new AuditError('STORE_IO', `${SINK_STATE_FILE}: expected treeSize and sinks`, { file });
      from = saved.treeSize as number;
      // A state saved before `seen` was kept counts as heard from now.
      const seen = isRecord(saved.seen) ? saved.seen : {};
      const entries: Array<[string, number, number]> = [];
      for (const [key, seq] of Object.entries(saved.sinks)) {
        const at = seen[key];
        if (Number.isSafeInteger(seq))
          entries.push([key, seq as number, Number.isSafeInteger(at) ? (at as number) : openedAt]);
      }
      entries.sort((a, b) => a[2] - b[2]);
      for (const [key, seq, at] of entries) out.last.set(key, { seq, seen: at });
    }
    for (const line of source.lineBytes(from)) {
      if (line.bytes.indexOf(SINK_STAMP) < 0) continue;
      let meta: unknown;
      try {
        meta = decodeLine(line.bytes.toString('utf8')).meta;
      } catch (err) {
        // A damaged line is verify's to report; the collector still opens on the lines it can read.
        if (isAuditError(err, 'ENTRY_MALFORMED')) continue;
        throw err;
      }
      if (!isRecord(meta)) continue;
      const { producer, sinkId, sinkSeq } = meta;
      if (typeof producer !== 'string' || typeof sinkId !== 'string' || !Number.isSafeInteger(sinkSeq))
        continue;
      const key = sinkKey(producer, sinkId);
      // Recorded after the last save: heard from lately, counted as at open.
      out.remember(key, Math.max(out.last.get(key)?.seq ?? -1, sinkSeq as number), openedAt);
    }
    out.prune();
    return out;
  }

  /** The tree size of the trail's latest checkpoint (0 without one). */
  static checkpointSize(source: TrailLines, verifierKey: string): number {
    const note = source.latestCheckpoint();
    return note === undefined ? 0 : openCheckpoint(note, NoteVerifier.fromVkey(verifierKey)).size;
  }

  /** A copy of the state (pruned first), to save once every entry it counts is durable. */
  snapshot(): SinkSnapshot {
    this.prune();
    const sinks: Record<string, number> = {};
    const seen: Record<string, number> = {};
    for (const [key, v] of this.last) {
      sinks[key] = v.seq;
      seen[key] = v.seen;
    }
    return { sinks, seen };
  }

  /**
   * Writes a state: `sinks` from {@link snapshot}, all durable, and `treeSize` taken before the
   * snapshot (every stamped entry below it is counted).
   */
  static save(dir: string, treeSize: number, state: SinkSnapshot): void {
    writeFileAtomic(
      path.join(dir, SINK_STATE_FILE),
      `${JSON.stringify({ treeSize, sinks: state.sinks, seen: state.seen })}\n`,
    );
  }

  /**
   * Reads the sink stamps of a batch (after `meta.producer` was set): which events repeat recorded
   * ones. Events without `meta.sinkId` are always new. A stamp of the wrong type is a problem at
   * its index and field.
   */
  admit(events: readonly unknown[], producer: string): SinkAdmission | BatchProblem {
    const duplicate: boolean[] = new Array(events.length).fill(false);
    const next = new Map<string, number>();
    let duplicates = 0;
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      const meta = isRecord(event) ? event.meta : undefined;
      if (!isRecord(meta) || meta.sinkId === undefined) continue;
      const { sinkId, sinkSeq } = meta;
      if (typeof sinkId !== 'string' || sinkId === '' || sinkId.length > MAX_SINK_ID) {
        const field = 'meta.sinkId';
        return {
          index: i,
          field,
          message: `events[${i}]: ${field}: expected a string of 1 to 64 characters`,
        };
      }
      if (typeof sinkSeq !== 'number' || !Number.isSafeInteger(sinkSeq) || sinkSeq < 0) {
        const field = 'meta.sinkSeq';
        return { index: i, field, message: `events[${i}]: ${field}: expected a non-negative integer` };
      }
      const key = sinkKey(producer, sinkId);
      const seen = next.get(key) ?? this.last.get(key)?.seq ?? -1;
      if (sinkSeq <= seen) {
        duplicate[i] = true;
        duplicates++;
      } else {
        next.set(key, sinkSeq);
      }
    }
    return { duplicate, duplicates, next };
  }

  /**
   * Records the highest seqs of a batch that was handed to the writer; its sinks are now the most
   * recently heard from. A sink whose events were all repeats is not refreshed: only new events
   * keep a sink remembered.
   */
  commit(admission: SinkAdmission): void {
    if (admission.next.size === 0) return;
    const now = this.now();
    for (const [key, seq] of admission.next) this.remember(key, seq, now);
    this.prune();
  }
}
