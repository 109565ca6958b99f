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
 */
import path from 'node:path';
import { NoteVerifier, openCheckpoint } from '../chain/index.js';
import { AuditError } from '../errors.js';
import { decodeLine } from '../read/index.js';
import { DirSource, readIfExists, writeFileAtomic } from '../store/index.js';
import type { BatchProblem } from './ingest.js';

/** The state file, in the trail directory. */
export const SINK_STATE_FILE = 'collector-sinks.json';
/** Longest sink id accepted (RemoteSink's are 16 hex digits). */
const MAX_SINK_ID = 64;
const SINK_STAMP = Buffer.from('"sinkSeq":');

/** What a batch's sink stamps say: the events to record and the highest seq per sink after them. */
export interface SinkAdmission {
  /** Per event of the batch: true when it is a repeat of a recorded event (to drop). */
  duplicate: boolean[];
  duplicates: number;
  /** Sink key → highest seq once the batch is recorded; apply with {@link SinkSequences.commit}. */
  next: Map<string, number>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sinkKey(producer: string, sinkId: string): string {
  return `${producer}\u0000${sinkId}`;
}

/** What the state is rebuilt from: a trail directory's or a PostgreSQL log's reader. */
type TrailLines = Pick<DirSource, 'lineBytes' | 'latestCheckpoint'>;

/** The highest recorded sinkSeq of every (producer, sink id) the trail holds. */
export class SinkSequences {
  private readonly last = new Map<string, number>();

  /** Sinks known. */
  get size(): number {
    return this.last.size;
  }

  /**
   * The state of a trail: the saved state, then the entries recorded after it.
   * @throws AuditError STORE_IO when the state file is not what this module writes.
   */
  static load(dir: string, source: TrailLines = new DirSource(dir)): SinkSequences {
    const out = new SinkSequences();
    const file = path.join(dir, SINK_STATE_FILE);
    const text = readIfExists(file);
    let from = 0;
    if (text !== undefined) {
      let saved: { treeSize?: unknown; sinks?: unknown };
      try {
        saved = JSON.parse(text) as typeof saved;
      } catch {
        throw new AuditError('STORE_IO', `${SINK_STATE_FILE}: not valid JSON`, { file });
      }
      if (!Number.isSafeInteger(saved.treeSize) || !isPlainObject(saved.sinks))
        throw new AuditError('STORE_IO', `${SINK_STATE_FILE}: expected treeSize and sinks`, { file });
      from = saved.treeSize as number;
      for (const [key, seq] of Object.entries(saved.sinks)) {
        if (Number.isSafeInteger(seq)) out.last.set(key, seq as number);
      }
    }
    for (const line of source.lineBytes(from)) {
      if (line.bytes.indexOf(SINK_STAMP) < 0) continue;
      const meta = decodeLine(line.bytes.toString('utf8')).meta;
      if (!isPlainObject(meta)) continue;
      const { producer, sinkId, sinkSeq } = meta;
      if (typeof producer !== 'string' || typeof sinkId !== 'string' || !Number.isSafeInteger(sinkSeq))
        continue;
      const key = sinkKey(producer, sinkId);
      if ((out.last.get(key) ?? -1) < (sinkSeq as number)) out.last.set(key, sinkSeq as number);
    }
    return out;
  }

  /** The tree size of the trail's latest checkpoint (0 without one). */
  static checkpointSize(source: TrailLines, verifierKey: string): number {
    const note = source.latestCheckpoint();
    return note === undefined ? 0 : openCheckpoint(note, NoteVerifier.fromVkey(verifierKey)).size;
  }

  /** A copy of the counts, to save once every entry they count is durable. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.last);
  }

  /**
   * Writes a state: `sinks` from {@link snapshot}, all durable, and `treeSize` taken before the
   * snapshot (every stamped entry below it is counted).
   */
  static save(dir: string, treeSize: number, sinks: Record<string, number>): void {
    writeFileAtomic(path.join(dir, SINK_STATE_FILE), `${JSON.stringify({ treeSize, sinks })}\n`);
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
      const meta = isPlainObject(event) ? event.meta : undefined;
      if (!isPlainObject(meta) || meta.sinkId === undefined) continue;
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
      const seen = next.get(key) ?? this.last.get(key) ?? -1;
      if (sinkSeq <= seen) {
        duplicate[i] = true;
        duplicates++;
      } else {
        next.set(key, sinkSeq);
      }
    }
    return { duplicate, duplicates, next };
  }

  /** Records the highest seqs of a batch that was handed to the writer. */
  commit(admission: SinkAdmission): void {
    for (const [key, seq] of admission.next) this.last.set(key, seq);
  }
}
