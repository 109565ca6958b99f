/**
 * Verification of a trail directory: the store's lines, checkpoints and seals fed to the chain
 * verifier, with the checkpoints kept elsewhere and the keys an auditor brings. A pruned trail is
 * verified from its signed boundary (retention). The segments of a large directory are checked by
 * parallel threads (verify-pool.ts), their runs joined here in order.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  buildBorder,
  type CheckpointInput,
  NoteVerifier,
  openCheckpoint,
  SealKeyFile,
  TileTree,
  type TrailLine,
  type VerifiedRun,
  type VerifyReport,
  verifyTrail,
} from '../chain/index.js';
import { AuditError } from '../errors.js';
import { type BoundaryFile, DirSource } from '../store/index.js';
import type { PgSource } from '../store/postgres/index.js';
import { VerifyPool, verifyThreads } from './verify-pool.js';
import { verifiedLines } from './verify-runs.js';
import type { SegmentTask } from './verify-segment.js';

/** Options of {@link verifyDir}. */
export interface VerifyDirOptions {
  /** Files holding checkpoints (C2SP signed notes) kept elsewhere. */
  against?: string[];
  /** Checkpoints kept elsewhere, already read (witnesses: S3, collector, directory). */
  witnessed?: CheckpointInput[];
  /** Verifier key to trust instead of the one in trail.json. */
  verifierKey?: string;
  /** The forward-seal seed given at init: checks every seal. */
  sealSeed?: string;
  /**
   * The writer's seal key file (keys/seal.key of a directory, found by itself; for a PostgreSQL
   * log, the one in its key directory): with `sealSeed`, seals removed from the end show as epochs
   * the key has left behind.
   */
  sealKeyFile?: string;
  onProgress?: (entries: number) => void;
  now?: number;
  /**
   * Threads that verify segments in parallel (a trail directory only): 0 verifies in the caller's
   * thread. Default: one per core (at most 4) when the trail has at least two segments and 32 MiB.
   */
  workers?: number;
}

/**
 * Verifies the trail in `dir` (or an opened source: a PostgreSQL log).
 * @throws AuditError TRAIL_NOT_FOUND, STORE_IO (an `--against` file cannot be read), KEY_INVALID.
 */
export function verifyDir(dir: string | DirSource | PgSource, options: VerifyDirOptions = {}): VerifyReport {
  const source = typeof dir === 'string' ? new DirSource(dir) : dir;
  const where = source instanceof DirSource ? 'checkpoints.jsonl line' : 'checkpoint';
  const against: CheckpointInput[] = (options.against ?? []).map((file) => {
    try {
      return { note: fs.readFileSync(file, 'utf8'), source: file };
    } catch (err) {
      throw new AuditError(
        'STORE_IO',
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`,
        {
          file,
        },
      );
    }
  });
  // A writer that closes while this reads (its last checkpoint after the ones read here) or opens
  // (entries after them) counts as live, so that neither race looks like a shortened trail.
  const liveBefore = source.live();
  let liveAtEnd: boolean | undefined; // asked once the lines are read
  let badCheckpointLine: number | undefined;
  const stored =
    source instanceof DirSource
      ? source.checkpoints((lineNo) => {
          badCheckpointLine ??= lineNo;
        })
      : source.checkpoints();
  const checkpoints = stored.map((c, i) => ({ note: c.note, source: `${where} ${i + 1}` }));
  let boundary: BoundaryFile | undefined;
  if (source instanceof DirSource) {
    try {
      boundary = source.boundary();
    } catch (err) {
      if (!(err instanceof AuditError) || err.code !== 'BOUNDARY_INVALID') throw err;
      return failedReport(source, checkpoints.length, err);
    }
    const unreadable = unreadableLine(source, badCheckpointLine);
    if (unreadable !== undefined) return failedReport(source, checkpoints.length, unreadable);
  }
  const input: Parameters<typeof verifyTrail>[0] = {
    origin: source.meta.origin,
    verifierKey: options.verifierKey ?? source.meta.verifierKey,
    lines: [],
    checkpoints,
    against: [...against, ...(options.witnessed ?? [])],
    get live() {
      liveAtEnd ??= liveBefore || source.live();
      return liveAtEnd;
    },
  };
  let priorTree: TileTree | undefined;
  if (boundary !== undefined && source instanceof DirSource) {
    input.boundary = { note: boundary.note, checkpoint: boundary.checkpoint, source: 'boundary.json' };
    try {
      priorTree = TileTree.open(source.layout.treeDir, { readOnly: true });
      input.priorTree = priorTree;
    } catch {
      priorTree = undefined; // verify then names the checkpoints it cannot check
    }
    // Every stored segment is read, also those before the boundary: readers show their entries.
    // Segments a pruning that crashed left before it (their removal goes oldest first) continue
    // from the persisted tree and must lead to the boundary's state; without the tree they fail.
    const firstSeq = source.segments()[0]?.ref.firstSeq ?? 0;
    if (firstSeq > 0 && firstSeq < boundary.size && priorTree !== undefined && priorTree.size >= firstSeq)
      input.start = {
        size: firstSeq,
        border: buildBorder(priorTree, firstSeq),
        prev: priorTree.nodeHash(0, firstSeq - 1),
      };
  }
  const leaves: {
    leaf: (seq: number) => Buffer | undefined;
    range?: (seq: number, count: number) => Buffer;
    close: () => void;
  } = source.storedLeaves();
  input.storedLeaf = leaves.leaf;
  if (leaves.range !== undefined) input.storedLeafRange = leaves.range;
  if (options.onProgress !== undefined) input.onProgress = options.onProgress;
  if (options.sealSeed !== undefined) {
    // The key before the seals: a writer stores a seal, then evolves its key, so read in this
    // order the key is never ahead of the seals read.
    const keyFile = options.sealKeyFile ?? (source instanceof DirSource ? source.layout.sealKey : undefined);
    // Gone from a directory a writer holds is a failure (that writer always has it); a PostgreSQL
    // log's key directory given to verify may be a reader's copy without it: not at hand.
    const absent = source instanceof DirSource ? 'missing' : undefined;
    const writerKey = keyFile === undefined ? undefined : (SealKeyFile.peek(keyFile) ?? absent);
    input.seals = {
      writerKey,
      records: source.seals(),
      seed: options.sealSeed,
      t0: source.meta.createdAt,
      epochMs: source.meta.sealEpochMs,
      now: options.now ?? Date.now(),
    };
  }
  // Segments of a directory are checked in runs, by parallel threads for a large trail; the
  // segments are listed and the threads started when verifyTrail starts reading lines.
  let pool: VerifyPool | undefined;
  const dirLines = function* (dir: DirSource): Generator<TrailLine> {
    const tasks = segmentTasks(dir);
    const bytes = tasks.reduce((sum, t) => sum + (t.summary?.bytes ?? 0), 0);
    const threads = Math.min(options.workers ?? verifyThreads(tasks.length, bytes), tasks.length);
    try {
      if (threads > 0) pool = new VerifyPool(threads);
    } catch {
      pool = undefined; // no threads to be had here: verified in this thread
    }
    yield* verifiedLines(tasks, pool);
  };
  if (source instanceof DirSource) {
    input.claimedRoots = source
      .segments()
      .flatMap(({ ref, summary }) =>
        summary === undefined
          ? []
          : [{ size: summary.treeSize, root: summary.root, source: path.basename(ref.summaryFile) }],
      );
  }
  // The stored nodes above the leaves: compared with the nodes of each run taken whole, then the
  // rest hashed (checkTreeFiles).
  const nodes = source instanceof DirSource ? openNodeCheck(source) : undefined;
  if (nodes !== undefined) input.onRun = nodes.onRun;
  try {
    input.lines = source instanceof DirSource ? dirLines(source) : source.lineBytes();
    const report = verifyTrail(input);
    if (report.ok && source instanceof DirSource) {
      checkLatestFile(source, checkpoints, input, report);
      if (report.ok && nodes !== undefined) checkTreeFiles(source, nodes, input.live, report);
    }
    return report;
  } finally {
    nodes?.tree.close();
    pool?.close();
    leaves.close();
    priorTree?.close();
  }
}

/** The segments to read, all of them, as DirSource.lineBytes reads them. */
function segmentTasks(source: DirSource): SegmentTask[] {
  const segments = source.segments();
  const tasks: SegmentTask[] = [];
  for (let i = 0; i < segments.length; i++) {
    const { ref, summary } = segments[i]!;
    const next = segments[i + 1];
    // Only the newest segment may be open: the writer seals one (its summary) before the next.
    if (next !== undefined && summary === undefined)
      throw new AuditError(
        'SEGMENT_CHECKSUM_MISMATCH',
        `${path.basename(ref.file)}: a later segment follows, but its sealed summary is missing or unreadable`,
        { file: ref.file },
      );
    tasks.push({ file: ref.file, firstSeq: ref.firstSeq, summary });
  }
  return tasks;
}

/**
 * The first line of checkpoints.jsonl (`badCheckpointLine`, found as it was read) or seals.jsonl
 * that is not a record of its file: the writer only appends whole lines (and cuts a torn last
 * one), so such a line was changed.
 */
function unreadableLine(source: DirSource, badCheckpointLine: number | undefined): AuditError | undefined {
  let bad:
    | { line: number; file: string; code: 'CHECKPOINT_MALFORMED' | 'SEAL_INVALID'; what: string }
    | undefined;
  if (badCheckpointLine !== undefined)
    bad = {
      line: badCheckpointLine,
      file: source.layout.checkpoints,
      code: 'CHECKPOINT_MALFORMED',
      what: 'checkpoint',
    };
  else
    source.seals((line) => {
      bad ??= { line, file: source.layout.seals, code: 'SEAL_INVALID', what: 'seal' };
    });
  if (bad === undefined) return undefined;
  const message = `${path.basename(bad.file)} line ${bad.line}: not a stored ${bad.what} (changed or damaged)`;
  return new AuditError(bad.code, message, { file: bad.file });
}

function failedReport(source: DirSource, checkpoints: number, err: AuditError): VerifyReport {
  return {
    ok: false,
    origin: source.meta.origin,
    entries: 0,
    root: '',
    checkpoints,
    against: [],
    contentFields: { verified: 0, erased: 0 },
    unsignedTail: 0,
    prunedBefore: 0,
    failure: {
      code: err.code,
      message: err.message,
      ...(typeof err.detail.file === 'string' && { file: err.detail.file }),
    },
  };
}

/**
 * The `checkpoint` file (what `sealtrail checkpoint` prints and auditors keep) must be the latest
 * signed checkpoint of checkpoints.jsonl, which verify checked; while a writer runs, any of them
 * (it writes the line first, then the file), or one it signed after the list was read.
 */
function checkLatestFile(
  source: DirSource,
  checkpoints: readonly CheckpointInput[],
  input: { live: boolean; verifierKey: string },
  report: VerifyReport,
): void {
  if (checkpoints.length === 0) return;
  const note = source.latestCheckpoint();
  // The note's second line is its tree size (C2SP checkpoint); the latest is the largest verified.
  const stored = note !== undefined && checkpoints.some((c) => c.note === note);
  const live = input.live;
  if (stored && (live || Number(note.split('\n')[1]) === report.latestCheckpoint?.size)) return;
  if (!stored && live && note !== undefined && newerSigned(note, input.verifierKey, report)) return;
  report.ok = false;
  report.failure = {
    code: 'CHECKPOINT_MALFORMED',
    message:
      note === undefined
        ? 'checkpoint: the file of the latest signed checkpoint is missing'
        : 'checkpoint: not the latest signed checkpoint of checkpoints.jsonl (changed or replaced)',
    file: source.layout.latestCheckpoint,
  };
}

/** A checkpoint signed with the trail's key, not older than the latest verified one. */
function newerSigned(note: string, verifierKey: string, report: VerifyReport): boolean {
  try {
    return (
      openCheckpoint(note, NoteVerifier.fromVkey(verifierKey)).size >= (report.latestCheckpoint?.size ?? 0)
    );
  } catch {
    return false;
  }
}

/** The persisted tree of a directory, and which nodes of its first stored level runs compared. */
interface NodeCheck {
  tree: TileTree;
  checked: Uint8Array;
  onRun: (run: VerifiedRun) => void;
}

function openNodeCheck(source: DirSource): NodeCheck | undefined {
  let tree: TileTree;
  try {
    tree = TileTree.open(source.layout.treeDir, { readOnly: true });
  } catch {
    return undefined; // no tree files: proofs read nothing from them, and verify checked the roots
  }
  const checked = new Uint8Array(tree.firstLevelCount);
  const onRun = (run: VerifiedRun): void => {
    const k = tree.checkRunNodes(run.firstSeq, run.lines, run.nodes, checked);
    if (k !== undefined) throw changedNode(source, tree.firstStoredLevel, k);
  };
  return { tree, checked, onRun };
}

/**
 * The persisted node hashes above the leaves (tree/level-08.hashes, ...) must be the hashes of
 * the ones below, as proofs read them: the leaves themselves were checked against the entries.
 */
function checkTreeFiles(source: DirSource, nodes: NodeCheck, live: boolean, report: VerifyReport): void {
  // The writer stores an entry's leaf before its line is in the segment (the append thread writes
  // it), so the tree runs ahead while it writes (the segments were read first), and after it was
  // killed, like an unsigned tail: a writer that opens the trail cuts what runs ahead.
  if (!live && nodes.tree.size > report.entries) {
    report.ok = false;
    report.failure = {
      code: 'TREE_SIZE_MISMATCH',
      message: `tree/level-00.hashes: ${nodes.tree.size} leaf hashes, but the log holds ${report.entries} entries`,
      file: path.join(source.layout.treeDir, 'level-00.hashes'),
    };
    return;
  }
  const changed = nodes.tree.firstChangedNode(nodes.checked);
  if (changed === undefined) return;
  const err = changedNode(source, changed.level, changed.index);
  report.ok = false;
  report.failure = { code: err.code, message: err.message, file: err.detail.file as string };
}

function changedNode(source: DirSource, level: number, index: number): AuditError {
  const file = path.join(source.layout.treeDir, `level-${String(level).padStart(2, '0')}.hashes`);
  return new AuditError(
    'ROOT_MISMATCH',
    `tree: node ${index} of level ${level} is not the hash of the nodes below it (tree file changed)`,
    { file },
  );
}
