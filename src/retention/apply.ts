/**
 * A retention run (docs/retention.md), in the writer that holds the trail, after it sealed its
 * open segment: (1) prune the planned prefix of segments: write the signed boundary
 * (chain/boundary.ts) with a checkpoint of its size signed now, then remove the segments; the tree
 * files stay, since proofs of kept entries need node hashes over pruned leaves, and they hold no
 * content; (2) erase the content payloads that expired, keeping their commitments (erase.ts);
 * (3) gzip-archive the sealed segments due. Each action is recorded in the trail by `record`
 * (`retention.pruned`, `retention.content_expired`, `retention.archived`), then the run as
 * `admin.retention_applied`.
 */
import { boundaryFromTree, signBoundary } from '../chain/boundary.js';
import { Checkpoint, signCheckpoint } from '../chain/checkpoint.js';
import type { NoteSigner } from '../chain/note.js';
import type { TreeReader } from '../chain/tree.js';
import { AuditError } from '../errors.js';
import {
  archiveSegment,
  BOUNDARY_FILE_FORMAT,
  listSegments,
  readBoundaryFile,
  readSummary,
  removeSegment,
  rewriteQuarantine,
  rewriteSealedSegments,
  type TrailLayout,
  writeBoundaryFile,
} from '../store/index.js';
import { type ErasureCount, erasePayloads, eraseTornLine } from './erase.js';
import { type LegalHold, readHolds } from './holds.js';
import { contentExpires, entryFacts, planRetention, type RetentionPlan } from './plan.js';
import type { RetentionPolicy } from './policy.js';

/** What a run needs from the writer. */
export interface RetentionContext {
  layout: TrailLayout;
  origin: string;
  /** The persisted Merkle tree (node hashes), at the trail's current size. */
  tree: TreeReader;
  signer: NoteSigner;
  now: number;
  /** Appends one event to the trail through the writer's own path. */
  record: (event: Record<string, unknown>) => void;
}

/** What a run did (or, with dryRun, would do). */
export interface RetentionResult extends RetentionPlan {
  dryRun: boolean;
  expired: ErasureCount;
  archived: { segments: number; bytes: number; archiveBytes: number };
}

function emptyResult(plan: RetentionPlan, dryRun: boolean): RetentionResult {
  return {
    ...plan,
    dryRun,
    expired: { entries: 0, fields: 0 },
    archived: { segments: 0, bytes: 0, archiveBytes: 0 },
  };
}

/**
 * The plan of a run without changing anything (`retention apply --dry-run`); reads only, so it
 * may run while a writer holds the trail.
 */
export function planRetentionRun(layout: TrailLayout, policy: RetentionPolicy, now: number): RetentionResult {
  // The run seals the open segment first: its entries are planned as the run will treat them.
  const plan = planRetention(layout.segmentsDir, policy, readHolds(layout), now, { openSegment: true });
  return emptyResult(plan, true);
}

/** Writes the boundary at `size` and removes every segment before it. */
function prune(ctx: RetentionContext, plan: RetentionPlan, size: number): void {
  const boundary = boundaryFromTree(ctx.origin, ctx.tree, size);
  const before = readBoundaryFile(ctx.layout);
  const summaries = new Map(
    listSegments(ctx.layout.segmentsDir).map((ref) => [ref.firstSeq, { ref, summary: readSummary(ref) }]),
  );
  const pruned = plan.prune.segments.map((p) => {
    const { sealedAt: _sealedAt, ...rest } = summaries.get(p.firstSeq)!.summary!;
    return rest;
  });
  // The boundary is durable before any segment goes: a crash in between leaves segments that
  // verify from genesis through the boundary, and the next run removes them.
  writeBoundaryFile(ctx.layout, {
    format: BOUNDARY_FILE_FORMAT,
    size,
    note: signBoundary(boundary, ctx.signer),
    checkpoint: signCheckpoint(new Checkpoint(ctx.origin, size, boundary.root), ctx.signer),
    prunedAt: new Date(ctx.now).toISOString(),
    pruned: [...(before?.pruned ?? []), ...pruned],
  });
  for (const { ref } of summaries.values()) {
    if (ref.firstSeq < size) removeSegment(ref);
  }
}

/**
 * Removes segments a crash left before the boundary (written, segments not yet all removed).
 * @throws AuditError BOUNDARY_INVALID when boundary.json is not the boundary this writer signs at
 *   its size: its fields are not signed, and only a boundary the key holder wrote may delete.
 */
function finishPrune(ctx: RetentionContext): number {
  const b = readBoundaryFile(ctx.layout);
  if (b === undefined) return 0;
  const refs = listSegments(ctx.layout.segmentsDir);
  // With the whole prefix there (a crash before the first removal, or pruned segments restored
  // from a backup) the trail verifies from genesis; the plan prunes it again when it is due.
  if (refs[0]?.firstSeq === 0) return 0;
  const due = refs.filter((_ref, i) => {
    const next = refs[i + 1];
    return next !== undefined && next.firstSeq <= b.size;
  });
  if (due.length === 0) return 0;
  // Ed25519 signatures are deterministic: the boundary this writer signs now at that size, from
  // its own tree, is byte for byte the one it wrote. Anyone who can write the file could set
  // `size` (attacker-controlled), and this run would delete every segment before it.
  let genuine = false;
  try {
    genuine = b.note === signBoundary(boundaryFromTree(ctx.origin, ctx.tree, b.size), ctx.signer);
  } catch {
    // a size out of the tree's range
  }
  if (!genuine)
    throw new AuditError(
      'BOUNDARY_INVALID',
      `boundary.json: its size ${b.size} is not the boundary this trail signed; no segment removed`,
      { file: ctx.layout.boundary },
    );
  for (const ref of due) removeSegment(ref);
  return due.length;
}

/**
 * Runs retention on the trail (see the file comment). The caller holds the writer lock and has
 * sealed the open segment.
 * @throws AuditError CONFIG_INVALID (holds.json), ENTRY_MALFORMED, SEGMENT_CHECKSUM_MISMATCH
 *   (a segment to archive differs from its summary), STORE_IO.
 */
export function applyRetention(ctx: RetentionContext, policy: RetentionPolicy): RetentionResult {
  finishPrune(ctx);
  const holds: LegalHold[] = readHolds(ctx.layout);
  const plan = planRetention(ctx.layout.segmentsDir, policy, holds, ctx.now);
  const result = emptyResult(plan, false);
  const at = plan.at;

  if (plan.prune.firstKept !== null) {
    const segs = plan.prune.segments;
    prune(ctx, plan, plan.prune.firstKept);
    ctx.record({
      type: 'retention.pruned',
      outcome: 'success',
      meta: {
        segments: segs.length,
        entries: plan.prune.entries,
        firstKept: plan.prune.firstKept,
        // event times, not seqs, order these: a later segment can hold older entries
        oldestPruned:
          segs
            .map((s) => s.minTs)
            .sort()
            .at(0) ?? '',
        newestPruned:
          segs
            .map((s) => s.maxTs)
            .sort()
            .at(-1) ?? '',
      },
    });
  }

  // The retention.content_expired entry takes the next seq: each marker names it. It is recorded
  // (durably) before anything is erased, with the counts the plan and a first pass over the
  // quarantine give: a crash while erasing then leaves markers that name it, never a seq that the
  // next entry takes (which verify would fail for good); it may count payloads not yet erased.
  const marker = { at, by: ctx.tree.size, reason: 'retention: content period expired' };
  const expires = (committed: string) => contentExpires(policy, holds, entryFacts(committed), ctx.now);
  const torn: ErasureCount = { entries: 0, fields: 0 };
  rewriteQuarantine(ctx.layout.quarantineDir, (line) => {
    eraseTornLine(line, expires, marker, torn);
    return undefined; // counting only
  });
  if (plan.expire.entries > 0 || (torn.quarantine?.erased ?? 0) > 0) {
    ctx.record({
      type: 'retention.content_expired',
      outcome: 'success',
      meta: {
        entries: plan.expire.entries,
        fields: plan.expire.fields,
        // verify holds every marker naming this entry to an entry no newer (docs/format.md §2)
        ...(plan.expire.newest === '' ? {} : { newest: plan.expire.newest }),
        ...(torn.quarantine === undefined ? {} : { quarantineErased: torn.quarantine.erased }),
      },
    });
    const only = new Set(plan.expire.segments);
    rewriteSealedSegments(
      ctx.layout,
      (line) => erasePayloads(line, expires, marker, result.expired),
      (firstSeq) => only.has(firstSeq),
    );
    rewriteQuarantine(ctx.layout.quarantineDir, (line) =>
      eraseTornLine(line, expires, marker, result.expired),
    );
  }

  if (plan.archive.segments.length > 0) {
    const refs = new Map(listSegments(ctx.layout.segmentsDir).map((r) => [r.firstSeq, r]));
    for (const p of plan.archive.segments) {
      const ref = refs.get(p.firstSeq);
      const summary = ref === undefined ? undefined : readSummary(ref);
      if (ref === undefined || summary === undefined) continue;
      const done = archiveSegment(ref, summary);
      if (done === undefined) continue;
      result.archived.segments++;
      result.archived.bytes += done.bytes;
      result.archived.archiveBytes += done.archiveBytes;
    }
    ctx.record({
      type: 'retention.archived',
      outcome: 'success',
      meta: { ...result.archived },
    });
  }

  const blocked = plan.blockedBy;
  ctx.record({
    type: 'admin.retention_applied',
    outcome: 'success',
    meta: {
      prunedSegments: plan.prune.segments.length,
      prunedEntries: plan.prune.entries,
      firstKept: plan.prune.firstKept,
      expiredEntries: result.expired.entries,
      expiredFields: result.expired.fields,
      archivedSegments: result.archived.segments,
      holds: holds.length,
      heldEntries: plan.held,
      pruneStoppedAt: blocked === null ? null : blocked.seq,
      pruneStoppedBy:
        blocked === null ? null : blocked.reason === 'hold' ? `hold ${blocked.hold}` : blocked.reason,
    },
  });
  return result;
}
