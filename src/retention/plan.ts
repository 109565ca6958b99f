/**
 * What a retention run would do (docs/retention.md), read from the sealed segments without
 * changing anything: the prefix of segments that may be pruned (every entry past its keep period
 * and none under a legal hold; pruning stops at the first segment that must stay, since the
 * boundary is one seq), the entries whose content expired, and the segments due for archiving.
 * The newest segment is never pruned or archived (the writer appends after it); its expired
 * content is erased like any other once it is sealed.
 */
import { parseCommitted, parsePayloads, splitLine } from '../chain/record.js';
import {
  listSegments,
  readLines,
  readSummary,
  type SegmentRef,
  type SegmentSummary,
} from '../store/index.js';
import { type HoldFacts, holdCovering, type LegalHold } from './holds.js';
import { addPeriod, contentUntil, keepUntil, type RetentionPolicy } from './policy.js';

/** A segment the plan prunes or archives. */
export interface PlannedSegment {
  file: string;
  firstSeq: number;
  lastSeq: number;
  count: number;
  minTs: string;
  maxTs: string;
}

/** Why pruning stops where it does. */
export interface PruneBlock {
  /** The first entry that must stay, or the first seq of a segment that is not sealed. */
  seq: number;
  reason: 'keep' | 'hold' | 'newest';
  type?: string;
  category?: string;
  /** ISO time the entry may be pruned (reason keep); absent when it is kept forever. */
  until?: string;
  /** The hold that covers it (reason hold). */
  hold?: string;
}

/** The plan of one retention run. */
export interface RetentionPlan {
  at: string;
  prune: { segments: PlannedSegment[]; entries: number; firstKept: number | null };
  blockedBy: PruneBlock | null;
  /**
   * Entries (outside the pruned segments) whose content payloads expire now, and how many payloads
   * they have not yet erased (what the run erases); `newest`: the time of the newest of them ('' for none).
   */
  expire: { entries: number; fields: number; segments: number[]; newest: string };
  archive: { segments: PlannedSegment[] };
  /** Entries that would be pruned or lose content but a legal hold keeps. */
  held: number;
  holds: number;
  /** Sealed segments read to make the plan (the others are newer than every period of the policy). */
  segmentsRead: number;
}

/** The facts of one entry a plan needs (the event fields holds match on). */
export function entryFacts(committed: string): HoldFacts {
  const e = parseCommitted(committed).event;
  const actor = e.actor as { id?: unknown } | undefined;
  return {
    ts: String(e.ts),
    type: String(e.type),
    category: String(e.category),
    actor: typeof actor?.id === 'string' ? actor.id : undefined,
    subject: typeof e.subject === 'string' ? e.subject : undefined,
  };
}

/** The number of payloads of the line not yet erased. */
export function countLivePayloads(payloads: string | undefined): number {
  if (payloads === undefined) return 0;
  return Object.values(parsePayloads(payloads)).filter((p) => !('erased' in p)).length;
}

/** True when the line has at least one payload not yet erased. */
export function hasLivePayload(payloads: string | undefined): boolean {
  return countLivePayloads(payloads) > 0;
}

/** True when the content of an entry with these facts expires at `now` and no hold covers it. */
export function contentExpires(
  policy: RetentionPolicy,
  holds: readonly LegalHold[],
  facts: HoldFacts,
  now: number,
): boolean {
  return (
    contentUntil(policy, facts.type, facts.category, Date.parse(facts.ts)) <= now &&
    holdCovering(holds, facts) === undefined
  );
}

/** True when a sealed plain segment is old enough to be archived. */
function archiveDue(policy: RetentionPolicy, ref: SegmentRef, s: SegmentSummary, now: number): boolean {
  return (
    policy.archiveAfter !== undefined &&
    !ref.file.endsWith('.gz') &&
    addPeriod(Date.parse(s.maxTs), policy.archiveAfter) <= now
  );
}

/**
 * The earliest time anything can expire for an entry of time `ts`: the shortest keep period and
 * the shortest content period of any rule of the policy (Infinity when nothing ever expires).
 */
function soonestExpiry(policy: RetentionPolicy): (ts: number) => number {
  const rules = [
    policy.default ?? {},
    ...Object.values(policy.categories ?? {}),
    ...Object.values(policy.types ?? {}),
  ];
  // A type or category rule without `keep` falls back to the default's, which is in the list too.
  const keeps = rules.map((r) => r.keep).filter((k): k is string => k !== undefined);
  const days = rules.map((r) => r.contentDays).filter((d): d is number => d !== undefined);
  if (policy.default?.keep === undefined) keeps.push('forever');
  return (ts) => Math.min(...keeps.map((k) => addPeriod(ts, k)), ...days.map((d) => ts + d * 86_400_000));
}

function planned(ref: SegmentRef, s: SegmentSummary): PlannedSegment {
  return {
    file: ref.file.slice(ref.file.lastIndexOf('/') + 1),
    firstSeq: s.firstSeq,
    lastSeq: s.lastSeq,
    count: s.count,
    minTs: s.minTs,
    maxTs: s.maxTs,
  };
}

/**
 * The plan for the trail whose segments are in `segmentsDir`, under `policy` and `holds`, at `now`.
 * With `openSegment`, the open segment's entries are planned as if it were sealed (a dry run: the
 * real run seals it first); otherwise planning stops there.
 * @throws AuditError ENTRY_MALFORMED when a stored line is not a record; STORE_IO.
 */
export function planRetention(
  segmentsDir: string,
  policy: RetentionPolicy,
  holds: readonly LegalHold[],
  now: number,
  options: { openSegment?: boolean } = {},
): RetentionPlan {
  const plan: RetentionPlan = {
    at: new Date(now).toISOString(),
    prune: { segments: [], entries: 0, firstKept: null },
    blockedBy: null,
    expire: { entries: 0, fields: 0, segments: [], newest: '' },
    archive: { segments: [] },
    held: 0,
    holds: holds.length,
    segmentsRead: 0,
  };
  const soonest = soonestExpiry(policy);
  const refs = listSegments(segmentsDir);
  let pruning = true;
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i]!;
    const summary = readSummary(ref);
    const newest = i === refs.length - 1;
    if (summary === undefined && !options.openSegment) {
      if (pruning) plan.blockedBy = { seq: ref.firstSeq, reason: 'newest' };
      break;
    }
    // Once pruning has stopped, a segment whose oldest entry is newer than every period of the
    // policy holds nothing to do: it is not read (a daily run then reads only the old segments).
    if (summary !== undefined && !pruning && soonest(Date.parse(summary.minTs)) > now) {
      if (!newest && archiveDue(policy, ref, summary, now)) plan.archive.segments.push(planned(ref, summary));
      continue;
    }
    plan.segmentsRead++;
    let block: PruneBlock | undefined;
    let expiring = 0;
    let expiringFields = 0;
    let seq = ref.firstSeq;
    for (const line of readLines(ref.file)) {
      const { committed, payloads } = splitLine(line.text);
      const facts = entryFacts(committed);
      const ts = Date.parse(facts.ts);
      const until = keepUntil(policy, facts.type, facts.category, ts);
      const hold = holdCovering(holds, facts);
      if (until <= now && hold !== undefined) plan.held++;
      if (block === undefined && (until > now || hold !== undefined)) {
        block =
          hold !== undefined && until <= now
            ? { seq, reason: 'hold', type: facts.type, category: facts.category, hold: hold.id }
            : {
                seq,
                reason: 'keep',
                type: facts.type,
                category: facts.category,
                ...(Number.isFinite(until) ? { until: new Date(until).toISOString() } : {}),
              };
      }
      const live =
        contentUntil(policy, facts.type, facts.category, ts) <= now ? countLivePayloads(payloads) : 0;
      if (live > 0) {
        if (hold === undefined) {
          expiring++;
          expiringFields += live;
          if (plan.expire.newest === '' || ts > Date.parse(plan.expire.newest)) plan.expire.newest = facts.ts;
        } else plan.held++;
      }
      seq++;
    }
    // The open segment (planned as the run will seal it) is the newest: it is never pruned or archived.
    if (pruning && (newest || summary === undefined) && block === undefined)
      block = { seq: ref.firstSeq, reason: 'newest' };
    if (pruning && block === undefined && summary !== undefined) {
      plan.prune.segments.push(planned(ref, summary));
      plan.prune.entries += summary.count;
      plan.prune.firstKept = summary.lastSeq + 1;
      continue;
    }
    if (pruning) {
      plan.blockedBy = block ?? null;
      pruning = false;
    }
    if (expiring > 0) {
      plan.expire.entries += expiring;
      plan.expire.fields += expiringFields;
      plan.expire.segments.push(ref.firstSeq);
    }
    if (!newest && summary !== undefined && archiveDue(policy, ref, summary, now))
      plan.archive.segments.push(planned(ref, summary));
  }
  return plan;
}
