/**
 * Streaming queries over a trail directory: `query(dir, filter)` is an async iterator of decoded
 * entries, newest first by default, that skips whole segments from their summaries, passes over
 * lines outside the window without parsing them, and reports a corrupt or unreadable line (seq,
 * file, reason) instead of failing. Reading never writes to the trail.
 *
 * Content payloads are shown as stored unless a reveal hook maps them (the hook that will decrypt
 * encrypted content plugs in here); erased payloads are listed in `erased` and never revealed.
 */
import { AuditError, isAuditError } from '../errors.js';
import { canonicalJson } from '../event/index.js';
import { DirSource } from '../store/index.js';
import type { PgSource } from '../store/postgres/index.js';
import { type AuditEntry, decodeEntry } from './entry.js';
import { type CompiledFilter, compileFilter, type QueryFilter } from './query-filter.js';
import {
  emptyStats,
  type LinePrecheck,
  type ReadIssue,
  type ScanBounds,
  type ScannedLine,
  type ScanStats,
  scanLines,
} from './query-scan.js';

/**
 * Maps a stored content payload to the value shown (for example, decrypts it). Called once per
 * present (not erased) payload; may return a promise. What it throws becomes a read issue (the
 * entry is skipped), except KEY_DESTROYED: a crypto-shredded payload is shown as erased.
 */
export type ContentReveal = (value: unknown, context: { field: string; entry: AuditEntry }) => unknown;

/** How to read. */
export interface QueryOptions {
  /** `newest` (default) or `oldest` first. */
  order?: 'newest' | 'oldest';
  /** Stop after this many matches. */
  limit?: number;
  /** Maps stored payloads to shown values (decryption). */
  reveal?: ContentReveal;
  /** Called for every corrupt or unreadable line, as it is met. */
  onIssue?: (issue: ReadIssue) => void;
  /** The clock for relative times (`since: '1h'`), epoch ms. */
  now?: number;
}

/** One matching entry and the stored line it came from (for integrity checks and exports). */
export interface QueryRecord {
  entry: AuditEntry;
  line: ScannedLine;
}

/** A running query: iterate it; `stats` and `issues` fill as it goes. */
export class TrailQuery implements AsyncIterable<AuditEntry> {
  readonly stats: ScanStats = emptyStats();
  readonly issues: ReadIssue[] = [];
  readonly filter: CompiledFilter;
  readonly order: 'newest' | 'oldest';
  readonly limit: number | undefined;

  constructor(
    readonly source: DirSource | PgSource,
    filter: QueryFilter,
    private readonly options: QueryOptions,
  ) {
    this.filter = compileFilter(filter, options.now ?? Date.now());
    const order = options.order ?? 'newest';
    if (order !== 'newest' && order !== 'oldest') {
      throw new AuditError('USAGE', 'order: expected newest or oldest', { field: 'order' });
    }
    this.order = order;
    const limit = options.limit;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new AuditError('USAGE', 'limit: expected a non-negative integer', { field: 'limit' });
    }
    this.limit = limit;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AuditEntry> {
    for await (const r of this.records()) yield r.entry;
  }

  /** Matching entries with their stored lines. */
  async *records(): AsyncGenerator<QueryRecord> {
    if (this.limit === 0) return;
    const f = this.filter;
    const bounds: ScanBounds = {
      fromMs: f.fromMs,
      toMs: f.toMs,
      seqFrom: f.seqFrom,
      seqTo: f.seqTo,
      order: this.order,
    };
    if (f.id !== undefined && f.seqTo - f.seqFrom > 1 && this.source instanceof DirSource) {
      // One entry at most: find its seq by bisection instead of reading the trail for it.
      const seq = this.source.findSeqById(f.id, { scan: false });
      if (seq !== undefined && seq >= f.seqFrom && seq < f.seqTo) {
        const found = { id: false };
        yield* this.scan({ ...bounds, seqFrom: seq, seqTo: seq + 1 }, found);
        if (found.id) return;
      }
      // Not found there (ids out of order, or a damaged trail whose lines are not where their
      // seqs say): the whole bounded scan looks.
    }
    yield* this.scan(bounds);
  }

  /** Matching entries within `bounds`; sets `found.id` when it met the filter's id. */
  private async *scan(bounds: ScanBounds, found?: { id: boolean }): AsyncGenerator<QueryRecord> {
    const f = this.filter;
    // The raw-line precheck is for long scans; the one line of a narrowed scan is decoded, so that
    // an entry with the id but failing another filter still counts as found.
    const check = found === undefined ? precheckOf(f) : undefined;
    const reveal = this.options.reveal;
    const searchContent = this.source.meta.content === 'plain' || reveal !== undefined;
    const onIssue = (issue: ReadIssue) => this.report(issue);
    const lines =
      this.source instanceof DirSource
        ? scanLines(this.source.layout.segmentsDir, bounds, this.stats, onIssue, check)
        : this.source.scan({ ...bounds, ...check }, this.stats);
    for (const line of lines) {
      let entry: AuditEntry;
      try {
        entry = decodeEntry(line.text);
        if (reveal !== undefined && entry.content !== undefined) await revealContent(entry, reveal);
      } catch (err) {
        this.report({ seq: line.seq, file: line.file, reason: reasonOf(err) });
        continue;
      }
      this.stats.entriesDecoded++;
      if (found !== undefined && entry.id === f.id) found.id = true;
      if (!f.matches(entry, searchContent)) continue;
      this.stats.matched++;
      yield { entry, line };
      if (this.limit !== undefined && this.stats.matched >= this.limit) return;
    }
  }

  /** Every matching entry in an array (for small results; prefer iterating). */
  async toArray(): Promise<AuditEntry[]> {
    const all: AuditEntry[] = [];
    for await (const e of this) all.push(e);
    return all;
  }

  private report(issue: ReadIssue): void {
    this.stats.issues++;
    if (this.issues.length < 1000) this.issues.push(issue);
    this.options.onIssue?.(issue);
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof AuditError) return err.message;
  return `not a sealtrail record (${(err as Error).name})`;
}

async function revealContent(entry: AuditEntry, reveal: ContentReveal): Promise<void> {
  const content = entry.content!;
  for (const field of Object.keys(content)) {
    try {
      content[field] = await reveal(content[field], { field, entry });
    } catch (err) {
      // A destroyed subject key (crypto-shredding) erased the payload: shown as erased, not an error.
      if (!isAuditError(err, 'KEY_DESTROYED')) throw err;
      delete content[field];
      entry.erased = [...(entry.erased ?? []), field];
    }
  }
}

/** Substrings a line must hold for exact-match filters, as canonical JSON writes them. */
function precheckOf(f: CompiledFilter): LinePrecheck | undefined {
  const n = f.normalized as Record<string, string[] | undefined>;
  const needles: string[][] = [];
  const add = (key: string, values: string[] | undefined) => {
    if (values !== undefined) needles.push(values.map((v) => `"${key}":${canonicalJson(v)}`));
  };
  const exactTypes = n.type?.every((t) => !t.endsWith('.*')) ? n.type : undefined;
  add('type', exactTypes);
  add('id', n.actor);
  add('sessionId', n.session);
  add('ip', n.ip);
  add('id', n.conversation);
  add('requestId', n.requestId);
  add('traceId', n.traceId);
  add('subject', n.subject);
  if (f.id !== undefined) add('id', [f.id]);
  const fromIso = Number.isFinite(f.fromMs) ? new Date(f.fromMs).toISOString() : undefined;
  const toIso = Number.isFinite(f.toMs) ? new Date(f.toMs).toISOString() : undefined;
  if (needles.length === 0 && fromIso === undefined && toIso === undefined) return undefined;
  return { fromIso, toIso, needles };
}

function sourceOf(dirOrSource: string | DirSource | PgSource): DirSource | PgSource {
  return typeof dirOrSource === 'string' ? new DirSource(dirOrSource) : dirOrSource;
}

/**
 * Reads the entries of a trail that match `filter`, newest first unless `order: 'oldest'`.
 * ```ts
 * for await (const e of query('./audit', { type: 'auth.failure', since: '1h' })) console.log(e.actor);
 * ```
 * @throws AuditError USAGE (a bad filter field, named), TRAIL_NOT_FOUND.
 */
export function query(
  dirOrSource: string | DirSource | PgSource,
  filter: QueryFilter = {},
  options: QueryOptions = {},
): TrailQuery {
  return new TrailQuery(sourceOf(dirOrSource), filter, options);
}

/**
 * The entry with this id, or undefined (found by a bisection by id, then a search when that
 * misses: see `DirSource.findSeqById`, `PgSource.findSeqById`).
 * @throws AuditError USAGE for an empty id, TRAIL_NOT_FOUND.
 */
export async function getEntry(
  dirOrSource: string | DirSource | PgSource,
  id: string,
  options: Pick<QueryOptions, 'reveal' | 'onIssue'> = {},
): Promise<AuditEntry | undefined> {
  const source = sourceOf(dirOrSource);
  if (typeof id !== 'string' || id === '')
    throw new AuditError('USAGE', 'id: expected an entry id', { field: 'id' });
  const q = { ...options, order: 'oldest', limit: 1 } as const;
  // A directory query narrows itself to the id's seq; PostgreSQL finds the seq first.
  if (source instanceof DirSource) return first(query(source, { id }, q));
  const seq = source.findSeqById(id);
  if (seq === undefined) return undefined;
  return first(query(source, { id, seqFrom: seq, seqTo: seq + 1 }, q));
}

async function first(q: TrailQuery): Promise<AuditEntry | undefined> {
  for await (const e of q) return e;
  return undefined;
}

/** A trail directory opened for reading: queries, lookups by id. Never writes. */
export class TrailReader {
  readonly source: DirSource;

  /** @throws AuditError TRAIL_NOT_FOUND. */
  constructor(dir: string) {
    this.source = new DirSource(dir);
  }

  /** See {@link query}. */
  query(filter: QueryFilter = {}, options: QueryOptions = {}): TrailQuery {
    return query(this.source, filter, options);
  }

  /** See {@link getEntry}. */
  get(id: string, options: Pick<QueryOptions, 'reveal' | 'onIssue'> = {}): Promise<AuditEntry | undefined> {
    return getEntry(this.source, id, options);
  }
}
