/**
 * Conversation reconstruction and timelines for incident review. A conversation is every entry
 * with that `conversation.id`, oldest first, grouped by turn (an entry without a turn belongs to
 * the turn before it), each with its integrity status. A timeline is every entry of a window in
 * event-time order.
 */
import { AuditError } from '../errors.js';
import { retentionState } from '../retention/state.js';
import { DirSource } from '../store/index.js';
import type { PgSource } from '../store/postgres/index.js';
import type { AuditEntry } from './entry.js';
import { type EntryIntegrity, EntryIntegrityChecker } from './entry-integrity.js';
import { type ContentReveal, query } from './query.js';
import type { QueryFilter } from './query-filter.js';
import type { ReadIssue } from './query-scan.js';

/** One entry of a conversation and what was checked about it. */
export interface ConversationEntry {
  entry: AuditEntry;
  integrity: EntryIntegrity;
}

/** The entries of one turn (turn null: before the first numbered turn). */
export interface ConversationTurn {
  turn: number | null;
  entries: ConversationEntry[];
}

/** A reconstructed conversation. */
export interface ConversationView {
  id: string;
  entries: number;
  firstTs: string | null;
  lastTs: string | null;
  actors: string[];
  models: string[];
  turns: ConversationTurn[];
  /** Size of the latest signed checkpoint the entries were checked against (null: none). */
  checkpointSize: number | null;
  integrity: { verified: number; unsigned: number; failed: number };
  /**
   * Set when the trail was pruned: entries before seq `beforeSeq` are no longer stored (their event
   * times from `oldestTs` to `newestTs`, null when unknown). Some may have belonged to this
   * conversation; whether any did cannot be known from what is kept. Null when nothing is missing.
   */
  pruned: { beforeSeq: number; oldestTs: string | null; newestTs: string | null } | null;
  issues: ReadIssue[];
}

/** Options of {@link reconstructConversation}. */
export interface ConversationOptions {
  reveal?: ContentReveal;
  /** Verifier key to trust instead of trail.json's. */
  verifierKey?: string;
}

function strOf(e: AuditEntry, group: string, key: string): string | undefined {
  const g = e[group];
  const v = typeof g === 'object' && g !== null ? (g as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/**
 * Every entry of conversation `id`, grouped by turn, with its integrity status.
 * @throws AuditError USAGE for an empty id, TRAIL_NOT_FOUND.
 */
export async function reconstructConversation(
  dirOrSource: string | DirSource | PgSource,
  id: string,
  options: ConversationOptions = {},
): Promise<ConversationView> {
  if (typeof id !== 'string' || id === '') {
    throw new AuditError('USAGE', 'conversation: expected a conversation id', { field: 'conversation' });
  }
  const source = typeof dirOrSource === 'string' ? new DirSource(dirOrSource) : dirOrSource;
  const checker = new EntryIntegrityChecker(source, options.verifierKey);
  const q = query(
    source,
    { conversation: id },
    { order: 'oldest', ...(options.reveal ? { reveal: options.reveal } : {}) },
  );
  const turns: ConversationTurn[] = [];
  const actors = new Set<string>();
  const models = new Set<string>();
  const integrity = { verified: 0, unsigned: 0, failed: 0 };
  let entries = 0;
  let firstTs: string | null = null;
  let lastTs: string | null = null;
  let previous: ConversationTurn | undefined;
  try {
    for await (const { entry, line } of q.records()) {
      const status = checker.check(line.text, line.seq);
      integrity[status.status]++;
      entries++;
      // seq order is not event-time order (entries recorded late): the span is the min and max,
      // compared as the ISO 8601 UTC text the writer stores
      if (firstTs === null || entry.ts < firstTs) firstTs = entry.ts;
      if (lastTs === null || entry.ts > lastTs) lastTs = entry.ts;
      const actor = strOf(entry, 'actor', 'id');
      if (actor !== undefined) actors.add(actor);
      const model = strOf(entry, 'model', 'name');
      if (model !== undefined) models.add(model);
      const conv = entry.conversation as { turn?: unknown } | undefined;
      const turn = typeof conv?.turn === 'number' ? conv.turn : undefined;
      // the turn of the entry before, not the turn made last: a turn can be come back to
      let current = previous;
      if (current === undefined || (turn !== undefined && turn !== current.turn)) {
        current = turns.find((t) => t.turn === (turn ?? null)) ?? { turn: turn ?? null, entries: [] };
        if (!turns.includes(current)) turns.push(current);
      }
      current.entries.push({ entry, integrity: status });
      previous = current;
    }
  } finally {
    checker.close();
  }
  turns.sort((a, b) => (a.turn ?? -1) - (b.turn ?? -1));
  return {
    id,
    entries,
    firstTs,
    lastTs,
    actors: [...actors],
    models: [...models],
    turns,
    checkpointSize: checker.checkpointSize ?? null,
    integrity,
    pruned: prunedBefore(source),
    issues: q.issues,
  };
}

/**
 * What is no longer stored of a pruned trail directory: the entries before its first stored seq,
 * with the pruned entries' time span from the signed boundary when it can be read. A PostgreSQL
 * log is never pruned; a directory whose pruned segments were restored (first stored seq 0) lacks
 * nothing.
 */
function prunedBefore(source: DirSource | PgSource): ConversationView['pruned'] {
  if (!(source instanceof DirSource)) return null;
  const first = source.segments()[0]?.ref.firstSeq ?? 0;
  if (first === 0) return null;
  const b = retentionState(source.layout).pruned;
  return { beforeSeq: first, oldestTs: b?.oldest ?? null, newestTs: b?.newest ?? null };
}

/** A timeline: entries of a window in event-time order. */
export interface Timeline {
  entries: AuditEntry[];
  /** True when more entries matched than `limit`: the window should be narrowed. */
  truncated: boolean;
  issues: ReadIssue[];
  filter: Readonly<Record<string, unknown>>;
}

/**
 * Entries matching `filter` (typically a window and an actor) sorted by event time, then seq.
 * At most `limit` (default 10,000) are kept: a timeline is for reading, an export for everything.
 * @throws AuditError USAGE (bad filter), TRAIL_NOT_FOUND.
 */
export async function buildTimeline(
  dirOrSource: string | DirSource | PgSource,
  filter: QueryFilter,
  options: { limit?: number; reveal?: ContentReveal; now?: number } = {},
): Promise<Timeline> {
  const limit = options.limit ?? 10_000;
  const q = query(dirOrSource, filter, {
    order: 'oldest',
    limit: limit + 1,
    ...(options.reveal ? { reveal: options.reveal } : {}),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const entries = await q.toArray();
  const truncated = entries.length > limit;
  if (truncated) entries.length = limit;
  entries.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.seq - b.seq));
  return { entries, truncated, issues: q.issues, filter: q.filter.normalized };
}
