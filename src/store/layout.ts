/**
 * Where each file of a trail directory lives (see docs/format.md "Files"). Pure path logic.
 */
import path from 'node:path';

/** The files and folders of one trail directory. */
export interface TrailLayout {
  dir: string;
  meta: string;
  lock: string;
  keysDir: string;
  signerKey: string;
  sealKey: string;
  segmentsDir: string;
  treeDir: string;
  checkpoints: string;
  latestCheckpoint: string;
  seals: string;
  quarantineDir: string;
  /** Signed Merkle state at the first kept entry of a pruned trail (docs/format.md §10). */
  boundary: string;
  /** Retention policy (docs/retention.md). */
  retentionPolicy: string;
  /** Legal holds (docs/retention.md). */
  holds: string;
}

/** The layout of the trail in `dir`. */
export function trailLayout(dir: string): TrailLayout {
  const d = path.resolve(dir);
  return {
    dir: d,
    meta: path.join(d, 'trail.json'),
    lock: path.join(d, 'writer.lock'),
    keysDir: path.join(d, 'keys'),
    signerKey: path.join(d, 'keys', 'checkpoint.skey'),
    sealKey: path.join(d, 'keys', 'seal.key'),
    segmentsDir: path.join(d, 'segments'),
    treeDir: path.join(d, 'tree'),
    checkpoints: path.join(d, 'checkpoints.jsonl'),
    latestCheckpoint: path.join(d, 'checkpoint'),
    seals: path.join(d, 'seals.jsonl'),
    quarantineDir: path.join(d, 'quarantine'),
    boundary: path.join(d, 'boundary.json'),
    retentionPolicy: path.join(d, 'retention.json'),
    holds: path.join(d, 'holds.json'),
  };
}

const SEQ_DIGITS = 20;

/** The file name of the segment whose first entry has sequence number `firstSeq`. */
export function segmentFileName(firstSeq: number): string {
  return `${String(firstSeq).padStart(SEQ_DIGITS, '0')}.log`;
}

/** The summary file name of a sealed segment. */
export function summaryFileName(firstSeq: number): string {
  return `${String(firstSeq).padStart(SEQ_DIGITS, '0')}.summary.json`;
}

/**
 * The first sequence number encoded in a segment file name (`<seq>.log`, or `<seq>.log.gz` once
 * archived), or undefined for other files.
 */
export function parseSegmentFileName(name: string): number | undefined {
  const m = /^(\d{20})\.log(\.gz)?$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}
