/**
 * Full verification of a trail: every chain link and sequence number, every content commitment,
 * the Merkle root at every stored checkpoint, every checkpoint signature, the checkpoints kept
 * elsewhere (`--against`), and, given the seed, every forward-secure seal. Pure logic over
 * {@link VerifyInput}; the store supplies the lines. Stops at the first failure and names its seq.
 */

import { AuditError, type AuditErrorCode } from '../errors.js';
import { canonicalJson } from '../event/canonical.js';
import { strictUtf8 } from '../utf8.js';
import { type Boundary, openBoundary } from './boundary.js';
import { type Checkpoint, openCheckpoint } from './checkpoint.js';
import { CompactTree } from './compact-tree.js';
import type { VerifiedRun } from './entry-run.js';
import { NoteVerifier } from './note.js';
import { buildConsistencyProof, rootAt } from './proof-build.js';
import { verifyConsistency } from './proof-verify.js';
import {
  type CommittedRecord,
  digestContent,
  digestContentBytes,
  GENESIS_PREV,
  parseCommitted,
  parsePayloads,
  parseRecordTailBytes,
} from './record.js';
import { EMPTY_TREE_ROOT, hashLeaf } from './rfc6962.js';
import { appendRunRange } from './run-tree.js';
import { type SealContext, type SealRecord, verifySeals } from './seal.js';
import type { TreeReader } from './tree.js';

/** A checkpoint to check, with where it came from (for messages). */
export interface CheckpointInput {
  note: string;
  source: string;
}

/**
 * One stored line, as text or as stored bytes (without its newline), and its file. A store that
 * also indexes the entry outside the line (PostgreSQL's `ts` column, which time-window queries
 * filter on) says in `indexMismatch` when that index no longer agrees with the line.
 */
export type StoredTrailLine = { file: string; indexMismatch?: string } & (
  | { text: string }
  | { bytes: Buffer }
);

/**
 * What {@link verifyTrail} reads: a stored line, or a run of consecutive lines whose per-entry
 * checks were done already (chain/entry-run.ts), with a way to read its lines again.
 */
export type TrailLine =
  | StoredTrailLine
  | { file: string; run: VerifiedRun; lines: () => Iterable<StoredTrailLine> };

/** What {@link verifyTrail} reads. */
export interface VerifyInput {
  origin: string;
  /** The verifier key trusted for checkpoints (the trail's own, or one given by the auditor). */
  verifierKey: string;
  /**
   * Where the lines start when not at seq 0 (an archived range; a pruned trail's segments before
   * its boundary): the tree of the entries before (its right border) and the leaf hash of the last
   * of them. Both must be authenticated by the caller, by a checkpoint of size `size` among
   * `checkpoints`, or, with a `boundary` past `size`, by the lines leading to the boundary's state.
   */
  start?: { size: number; border: readonly Buffer[]; prev: Buffer };
  /**
   * Stored lines (without newline, as text or as stored bytes) in seq order, with their file: from
   * seq 0, from `start.size`, or from the boundary's seq when the trail was pruned. Runs of lines
   * checked already may stand for their lines.
   */
  lines: Iterable<TrailLine>;
  /** The trail's own checkpoints, oldest first. */
  checkpoints: readonly CheckpointInput[];
  /** Checkpoints kept elsewhere: each must be consistent with the log. */
  against?: readonly CheckpointInput[];
  /** True while a writer has the trail open (its newest entries may not be checkpointed or sealed yet). */
  live: boolean;
  /**
   * Erasure claims carried across calls that verify consecutive parts of one trail (an archive, a
   * segment at a time): a marker may name an entry of a later part. The caller then decides what
   * the claims still waiting at the end mean; without it they fail at the end of `lines`.
   */
  erasures?: ErasureCheck;
  seals?: {
    records: readonly SealRecord[];
    seed: string;
    t0: number;
    epochMs: number;
    now: number;
    /** The writer's current seal key as stored, when at hand (SealContext.writerKey). */
    writerKey?: SealContext['writerKey'];
  };
  /** Stored leaf hash of an entry (persisted tree), checked against the recomputed one. */
  storedLeaf?: (seq: number) => Buffer | undefined;
  /**
   * The stored leaf hashes of entries `seq`..`seq + count - 1`, 32 bytes each, fewer where the
   * persisted tree ends: checked in one go against a run's leaves (else {@link storedLeaf} each).
   */
  storedLeafRange?: (seq: number, count: number) => Uint8Array;
  onProgress?: (entries: number) => void;
  /**
   * The signed boundary of a pruned trail (docs/format.md §10) and the signed checkpoint of its
   * size: verification continues the chain and the tree from it.
   */
  boundary?: { note: string; checkpoint: string; source: string };
  /**
   * The persisted node hashes (tree/): the roots of checkpoints and seals older than the boundary
   * are read there and proven consistent with the boundary's root.
   */
  priorTree?: TreeReader;
  /**
   * Other roots the store claims (sealed-segment summaries: the root after their last entry), each
   * checked against the recomputed tree; `root` is base64.
   */
  claimedRoots?: ReadonlyArray<{ size: number; root: string; source: string }>;
  /** Called with each run taken whole (its nodes computed); may throw an integrity AuditError. */
  onRun?: (run: VerifiedRun) => void;
}

/** The outcome of {@link verifyTrail}. */
export interface VerifyReport {
  ok: boolean;
  origin: string;
  entries: number;
  root: string;
  checkpoints: number;
  latestCheckpoint?: { size: number; root: string };
  against: Array<{ source: string; size: number; ok: boolean }>;
  /**
   * With the seed: the sealed epochs, the size the last covers, and whether the writer's seal
   * key was at hand to show seals removed from the end (without it, such a rollback passes).
   */
  seals?: { epochs: number; lastSealedSize: number; writerKeyChecked: boolean };
  contentFields: { verified: number; erased: number };
  /** Entries after the latest checkpoint while the writer runs (not yet signed). */
  unsignedTail: number;
  /** The boundary's seq when the trail was pruned (entries before it are gone), else 0. */
  prunedBefore: number;
  failure?: { code: AuditErrorCode; message: string; seq?: number; file?: string; source?: string };
}

/** Errors that stop verification without being integrity failures. */
const NOT_FAILURES: ReadonlySet<AuditErrorCode> = new Set(['KEY_INVALID', 'STORE_IO', 'STORE_UNAVAILABLE']);

function fail(code: AuditErrorCode, message: string, extra: Record<string, unknown> = {}): never {
  throw new AuditError(code, message, extra);
}

function firstSeq(line: TrailLine): number {
  if ('run' in line) return line.run.firstSeq;
  const bytes = 'bytes' in line ? line.bytes : Buffer.from(line.text);
  const tab = bytes.indexOf(0x09);
  return parseRecordTailBytes(tab < 0 ? bytes : bytes.subarray(0, tab)).seq;
}

/** Opens the boundary and checks its root against the signed checkpoint of its size. */
function openBoundaryInput(input: VerifyInput, verifier: NoteVerifier): Boundary {
  const { note, checkpoint, source } = input.boundary!;
  const where = (err: unknown): never => {
    if (err instanceof AuditError)
      throw new AuditError(err.code, `${source}: ${err.message}`, { ...err.detail, source });
    throw err;
  };
  let b: Boundary;
  let cp: Checkpoint;
  try {
    b = openBoundary(note, verifier);
    cp = openCheckpoint(checkpoint, verifier);
  } catch (err) {
    return where(err);
  }
  if (b.origin !== input.origin)
    fail('BOUNDARY_INVALID', `${source}: origin ${b.origin} is not ${input.origin}`, { source });
  if (cp.size !== b.size || !cp.rootHash.equals(b.root)) {
    fail('BOUNDARY_INVALID', `${source}: its root is not the signed checkpoint's of size ${b.size}`, {
      source,
    });
  }
  return b;
}

/**
 * The root at `size` (< the boundary) read from the persisted tree and proven consistent with the
 * boundary's root, for checkpoints and seals older than the boundary.
 */
function rootBeforeBoundary(size: number, b: Boundary, tree: TreeReader | undefined): Buffer {
  if (size === 0) return EMPTY_TREE_ROOT;
  if (tree === undefined || tree.size < b.size) {
    fail(
      'BOUNDARY_INVALID',
      `a checkpoint or seal of size ${size} precedes the boundary and the tree files to check it are missing`,
    );
  }
  const root = rootAt(tree, size);
  try {
    verifyConsistency(size, b.size, buildConsistencyProof(tree, size, b.size), root, b.root);
  } catch {
    fail(
      'ROOT_MISMATCH',
      `persisted tree at size ${size} is not consistent with the boundary (tree files changed)`,
    );
  }
  return root;
}

// 16 bytes in canonical base64: a lenient decoder would ignore a damaged padding character.
const SALT_RE = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

const SALT_CHARS = 24;
const DIGEST_CHARS = 44;
const NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const DIGEST_RE = /^[A-Za-z0-9+/]{43}=$/;
const CONTENT_HEAD = '{"content":{';
const EVENT_HEAD = '{"event":{';

/**
 * The content digests of a committed record, by name in stored order; undefined when it has none.
 * The writer puts them at the head (`{"content":{"name":"digest",...},"event":{`), so they are read
 * there by hand instead of parsing the whole record (measured: the parse was a quarter of
 * verify's time); a record of any other shape takes the full parse.
 */
function contentDigests(committed: Buffer): Array<[string, string]> | undefined {
  // The head is ASCII: latin1 decoding is exact there, and the cheapest.
  const head = committed.toString('latin1', 0, Math.min(committed.length, 512));
  if (head.startsWith(EVENT_HEAD)) return undefined;
  const out: Array<[string, string]> = [];
  if (head.startsWith(CONTENT_HEAD)) {
    let at = CONTENT_HEAD.length;
    for (;;) {
      const nameEnd = head.indexOf('"', at + 1);
      if (head.charCodeAt(at) !== 0x22 || nameEnd < 0) break;
      const name = head.slice(at + 1, nameEnd);
      const digest = head.slice(nameEnd + 3, nameEnd + 3 + DIGEST_CHARS);
      const after = nameEnd + 3 + DIGEST_CHARS;
      if (head.slice(nameEnd, nameEnd + 3) !== '":"' || head.charCodeAt(after) !== 0x22) break;
      if (!NAME_RE.test(name) || !DIGEST_RE.test(digest)) break;
      out.push([name, digest]);
      if (head.startsWith('},"event":{', after + 1)) return out;
      if (head.charCodeAt(after + 1) !== 0x2c) break;
      at = after + 2;
    }
  }
  const content = parseCommitted(committed.toString('utf8')).content;
  return content === undefined ? undefined : Object.entries(content);
}

/**
 * The common case, checked without parsing: the payloads are exactly
 * `{"name":{"salt":"..","value":V},...}` for the committed names in order, and every V, as
 * stored, hashes to its digest. Then the stored bytes are those committed. False means "not
 * shown here" (an erased payload, a value holding the next field's header, or a real mismatch),
 * and the full check decides.
 */
function payloadsMatchFast(digests: Array<[string, string]>, payloads: Buffer): boolean {
  let at = 0;
  for (let i = 0; i < digests.length; i++) {
    const [name, digest] = digests[i]!;
    const heads = headsOf(name);
    const head = i === 0 ? heads.first : heads.next;
    if (!startsWithAt(payloads, head, at)) return false;
    at += head.length;
    const salt = payloads.toString('latin1', at, at + SALT_CHARS);
    at += SALT_CHARS;
    if (!startsWithAt(payloads, VALUE_OPEN, at)) return false;
    at += VALUE_OPEN.length;
    const end =
      i + 1 < digests.length ? payloads.indexOf(headsOf(digests[i + 1]![0]).after, at) : payloads.length - 2;
    if (end < at || payloads[end] !== 0x7d || !SALT_RE.test(salt)) return false;
    if (digestContentBytes(name, salt, payloads.subarray(at, end)) !== digest) return false;
    at = end + 1;
  }
  return at === payloads.length - 1 && payloads[at] === 0x7d; // the closing } of the object
}

const VALUE_OPEN = Buffer.from('","value":', 'latin1');

/** The bytes of the payload headers of one field name, kept: names repeat from entry to entry. */
interface Heads {
  first: Buffer;
  next: Buffer;
  /** What ends the previous value when this field follows it. */
  after: Buffer;
}
const headsByName = new Map<string, Heads>();
function headsOf(name: string): Heads {
  let h = headsByName.get(name);
  if (h === undefined) {
    h = {
      first: Buffer.from(`{"${name}":{"salt":"`, 'latin1'),
      next: Buffer.from(`,"${name}":{"salt":"`, 'latin1'),
      after: Buffer.from(`},"${name}":{"salt":"`, 'latin1'),
    };
    if (headsByName.size < 1024) headsByName.set(name, h);
  }
  return h;
}

function startsWithAt(buf: Buffer, prefix: Buffer, at: number): boolean {
  return (
    at + prefix.length <= buf.length && buf.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0
  );
}

/**
 * An erased payload and the entry its marker names as recording the erasure (docs/format.md §2),
 * which verify then checks: an `audit.erasure` of the entry's subject, or a
 * `retention.content_expired`, recorded at or after the marker's time.
 */
export interface ErasureClaim {
  /** The entry whose payload is erased, and the payload's name. */
  seq: number;
  name: string;
  /** The marker: the recording entry's seq, and the time. */
  by: number;
  at: string;
  /** The erased entry's subject (undefined when it has none) and time. */
  subject: unknown;
  ts: unknown;
}

/**
 * Checks the content payloads of one entry against the digests in its committed record. Each
 * erased payload is added to `claims`, for the caller to check against the entry its marker names.
 * @throws AuditError CONTENT_COMMITMENT_MISMATCH or ENTRY_MALFORMED.
 */
export function verifyContent(
  committed: Buffer,
  payloadBytes: Buffer | undefined,
  counts: VerifyReport['contentFields'],
  claims: ErasureClaim[],
): void {
  const list = contentDigests(committed);
  if (list === undefined) {
    if (payloadBytes !== undefined)
      fail('CONTENT_COMMITMENT_MISMATCH', 'payloads present but no content digests');
    return;
  }
  if (payloadBytes !== undefined && payloadsMatchFast(list, payloadBytes)) {
    counts.verified += list.length;
    return;
  }
  const payloads = payloadBytes === undefined ? undefined : strictUtf8(payloadBytes);
  if (payloadBytes !== undefined && payloads === undefined)
    fail('ENTRY_MALFORMED', 'content payloads are not valid UTF-8');
  const digests = new Map(list);
  const stored = payloads === undefined ? {} : parsePayloads(payloads);
  for (const name of Object.keys(stored)) {
    if (!digests.has(name)) fail('CONTENT_COMMITMENT_MISMATCH', `content.${name}: payload without a digest`);
  }
  let record: CommittedRecord | undefined; // read once, for the first erased payload
  for (const [name, digest] of digests) {
    const p = Object.hasOwn(stored, name) ? stored[name] : undefined;
    if (p === undefined) fail('CONTENT_COMMITMENT_MISMATCH', `content.${name}: payload missing`);
    if ('erased' in p) {
      record ??= parseCommitted(committed.toString('utf8'));
      if (p.erased.by <= record.seq)
        fail(
          'CONTENT_COMMITMENT_MISMATCH',
          `content.${name}: erased by entry ${p.erased.by}, which does not follow it`,
        );
      claims.push({
        seq: record.seq,
        name,
        by: p.erased.by,
        at: p.erased.at,
        subject: record.event.subject,
        ts: record.event.ts,
      });
      counts.erased++;
      continue;
    }
    if (typeof p.salt !== 'string' || !SALT_RE.test(p.salt))
      fail('ENTRY_MALFORMED', `content.${name}: malformed salt`);
    if (digestContent(name, p.salt, canonicalJson(p.value)) !== digest) {
      fail('CONTENT_COMMITMENT_MISMATCH', `content.${name}: payload does not match its digest`);
    }
    counts.verified++;
  }
  // The writer's payload text is canonical JSON: anything else (even added whitespace) was edited.
  if (payloads !== undefined && canonicalJson(stored) !== payloads)
    fail('ENTRY_MALFORMED', 'content payloads are not in canonical form');
}

/**
 * Every erased payload must be explained by the entry its marker names (docs/format.md §2): an
 * `audit.erasure` of the erased entry's subject or a `retention.content_expired`, recorded at or
 * after the marker's time, and counting at least as many erased payloads as name it. Without this, anyone who can write the files could hide any payload
 * behind a marker: its digest alone does not say whether the content was erased or removed.
 * Claims wait, by the seq they name, until verify reaches that entry.
 */
export class ErasureCheck {
  private readonly waiting = new Map<number, ErasureClaim[]>();

  claim(claims: readonly ErasureClaim[]): void {
    for (const c of claims) {
      const list = this.waiting.get(c.by);
      if (list === undefined) this.waiting.set(c.by, [c]);
      else list.push(c);
    }
  }

  /** True when an entry of `run`, taken at seq `from`, is waited for (also by its own claims). */
  waitsIn(run: VerifiedRun, from: number): boolean {
    const to = from + run.lines;
    if (run.claims.some((c) => c.by < to)) return true;
    for (const by of this.waiting.keys()) if (by >= from && by < to) return true;
    return false;
  }

  /** Checks the claims that name entry `seq`, whose committed record this is. */
  check(seq: number, committed: Buffer): void {
    const claims = this.waiting.get(seq);
    if (claims === undefined) return;
    this.waiting.delete(seq);
    const event = parseCommitted(committed.toString('utf8')).event;
    // The entry counts the payloads it erased: a marker copied onto another payload is one more
    // (fewer is possible, once pruning removed some of them).
    const fields = (event.meta as { fields?: unknown } | undefined)?.fields;
    if (typeof fields === 'number' && claims.length > fields) {
      const c = claims[claims.length - 1]!;
      fail(
        'CONTENT_COMMITMENT_MISMATCH',
        `entry ${c.seq}: content.${c.name} is marked erased by entry ${seq}, which records ${fields} erased payloads, not ${claims.length}`,
        { seq },
      );
    }
    // Content expiry names the newest entry whose content it expired: a marker on a newer one
    // was not its doing (after pruning, the count above no longer tells).
    const newest = (event.meta as { newest?: unknown } | undefined)?.newest;
    const newestMs = typeof newest === 'string' ? Date.parse(newest) : Number.POSITIVE_INFINITY;
    for (const c of claims) {
      const explained =
        (event.type === 'audit.erasure' && event.subject === c.subject) ||
        (event.type === 'retention.content_expired' && !(Date.parse(String(c.ts)) > newestMs));
      if (!explained || typeof event.ts !== 'string' || event.ts < c.at)
        fail(
          'CONTENT_COMMITMENT_MISMATCH',
          `entry ${c.seq}: content.${c.name} is marked erased by entry ${seq}, which does not record that erasure`,
          { seq },
        );
    }
  }

  /** Claims still waiting: those naming entries not reached yet. */
  get waitingClaims(): number {
    let n = 0;
    for (const claims of this.waiting.values()) n += claims.length;
    return n;
  }

  /** At the end of the log: a claim naming an entry past it fails (unless a writer is appending it). */
  finish(size: number, live: boolean): void {
    for (const [by, claims] of this.waiting) {
      if (live && by >= size) continue;
      const c = claims[0]!;
      fail(
        'CONTENT_COMMITMENT_MISMATCH',
        `entry ${c.seq}: content.${c.name} is marked erased by entry ${by}, which is not in the log`,
        { seq: c.seq },
      );
    }
  }
}

/** Opens every checkpoint with the trusted key; returns them by size. */
function openAll(
  inputs: readonly CheckpointInput[],
  verifier: NoteVerifier,
  origin: string,
): Array<[Checkpoint, string]> {
  return inputs.map((c) => {
    try {
      const cp = openCheckpoint(c.note, verifier);
      if (cp.origin !== origin)
        fail('CHECKPOINT_SIGNATURE_INVALID', `${c.source}: origin ${cp.origin} is not ${origin}`);
      return [cp, c.source] as [Checkpoint, string];
    } catch (err) {
      if (err instanceof AuditError) {
        throw new AuditError(err.code, `${c.source}: ${err.message}`, { ...err.detail, source: c.source });
      }
      throw err;
    }
  });
}

/**
 * Verifies a whole trail. Never throws for integrity failures: they are in `report.failure`.
 * @throws AuditError KEY_INVALID when the verifier key itself is malformed; STORE_IO and
 *   STORE_UNAVAILABLE when the trail cannot be read (these say nothing about its integrity).
 */
export function verifyTrail(input: VerifyInput): VerifyReport {
  const report: VerifyReport = {
    ok: false,
    origin: input.origin,
    entries: 0,
    root: '',
    checkpoints: input.checkpoints.length,
    against: [],
    contentFields: { verified: 0, erased: 0 },
    unsignedTail: 0,
    prunedBefore: 0,
  };
  const verifier = NoteVerifier.fromVkey(input.verifierKey);
  let seq = input.start?.size ?? 0;
  let file = '';
  try {
    const own = openAll(input.checkpoints, verifier, input.origin);
    const external = openAll(input.against ?? [], verifier, input.origin);
    const seals = input.seals?.records ?? [];
    // Sizes at which the recomputed root must be known.
    const wanted = new Map<number, Buffer | undefined>();
    for (const [cp] of [...own, ...external]) wanted.set(cp.size, undefined);
    for (const s of seals) wanted.set(s.size, undefined);
    for (const c of input.claimedRoots ?? []) wanted.set(c.size, undefined);
    const start = input.start;
    let tree = start === undefined ? new CompactTree() : CompactTree.fromBorder(start.size, start.border);
    if (wanted.has(seq)) wanted.set(seq, seq === 0 ? EMPTY_TREE_ROOT : tree.root());
    let prev: Buffer = start?.prev ?? GENESIS_PREV;
    const boundary = input.boundary === undefined ? undefined : openBoundaryInput(input, verifier);
    const erasures = input.erasures ?? new ErasureCheck();
    const lineClaims: ErasureClaim[] = []; // reused by every line checked one by one
    const lines = input.lines[Symbol.iterator]();
    const first = lines.next();
    // A failure stops the reading: the lines' source closes its file (an open one would leak).
    try {
      // A pruned trail starts at the boundary, unless entries before it are stored (the pruned ones
      // restored, from seq 0; or, from `start`, segments a pruning that crashed did not remove yet):
      // then they are verified from there and must pass through the boundary's state.
      let throughBoundary = boundary !== undefined;
      if (boundary !== undefined && (first.done === true || firstSeq(first.value) !== (start?.size ?? 0))) {
        throughBoundary = false;
        report.prunedBefore = boundary.size;
        seq = boundary.size;
        prev = boundary.prev;
        tree = CompactTree.fromBorder(boundary.size, boundary.border);
        const stored = input.storedLeaf?.(seq - 1);
        if (stored !== undefined && !stored.equals(prev))
          fail('LEAF_HASH_MISMATCH', `boundary: prev is not the persisted leaf hash of entry ${seq - 1}`);
        for (const size of wanted.keys()) {
          if (size < boundary.size) wanted.set(size, rootBeforeBoundary(size, boundary, input.priorTree));
        }
        wanted.set(boundary.size, boundary.root);
      } else if (boundary !== undefined && start !== undefined) {
        report.prunedBefore = start.size;
        for (const size of wanted.keys()) {
          if (size < start.size) wanted.set(size, rootBeforeBoundary(size, boundary, input.priorTree));
        }
      }
      const addLeaf = (leaf: Buffer): void => {
        tree.append(leaf);
        prev = leaf;
        seq++;
        if (throughBoundary && seq === boundary!.size) {
          if (!tree.root().equals(boundary!.root) || !prev.equals(boundary!.prev))
            fail(
              'BOUNDARY_INVALID',
              `boundary: the stored entries ${start?.size ?? 0}..${seq - 1} before it do not lead to its state`,
            );
        }
        if (wanted.has(seq)) wanted.set(seq, tree.root());
        if ((seq & 0xffff) === 0) input.onProgress?.(seq);
      };
      const checkLine = (line: StoredTrailLine): void => {
        file = line.file;
        const bytes = 'bytes' in line ? line.bytes : Buffer.from(line.text);
        const tab = bytes.indexOf(0x09);
        const committed = tab < 0 ? bytes : bytes.subarray(0, tab);
        const tail = parseRecordTailBytes(committed);
        if (tail.seq !== seq) {
          fail('CHAIN_SEQ_GAP', `expected seq ${seq}, found ${tail.seq}`, { expected: seq, found: tail.seq });
        }
        if (!tail.prev.equals(prev))
          fail('CHAIN_LINK_MISMATCH', `prev does not match the hash of entry ${seq - 1}`);
        verifyContent(
          committed,
          tab < 0 ? undefined : bytes.subarray(tab + 1),
          report.contentFields,
          lineClaims,
        );
        erasures.claim(lineClaims);
        lineClaims.length = 0;
        erasures.check(seq, committed);
        if (line.indexMismatch !== undefined) fail('ENTRY_MALFORMED', `entry ${seq}: ${line.indexMismatch}`);
        const leaf = hashLeaf(committed);
        const stored = input.storedLeaf?.(seq);
        if (stored !== undefined && !stored.equals(leaf)) {
          fail(
            'LEAF_HASH_MISMATCH',
            `entry ${seq} does not match its persisted leaf hash (entry or tree file changed)`,
          );
        }
        addLeaf(leaf);
      };
      // A checked run stands for its lines when it continues the chain here and nothing in it can
      // fail (persisted leaves equal, no boundary inside); otherwise its lines are checked one by one.
      const runJoins = (run: VerifiedRun): boolean => {
        if (!run.ok || run.lines === 0 || run.firstSeq !== seq || !prev.equals(run.firstPrev)) return false;
        if (throughBoundary && seq < boundary!.size && seq + run.lines >= boundary!.size) return false;
        if (input.storedLeafRange !== undefined) {
          const stored = input.storedLeafRange(seq, run.lines);
          return Buffer.compare(stored, run.leaves.subarray(0, stored.length)) === 0;
        }
        for (let i = 0; input.storedLeaf !== undefined && i < run.lines; i++) {
          const stored = input.storedLeaf(seq + i);
          if (stored !== undefined && Buffer.compare(stored, run.leaves.subarray(32 * i, 32 * i + 32)) !== 0)
            return false;
        }
        return true;
      };
      // Sizes whose root is wanted, in order, for runs taken whole.
      const stops = [...wanted.keys()].sort((a, b) => a - b);
      let nextStop = 0;
      const addRun = (run: VerifiedRun): void => {
        const start = seq;
        const end = seq + run.lines;
        while (nextStop < stops.length && stops[nextStop]! <= start) nextStop++;
        for (; nextStop < stops.length && stops[nextStop]! <= end; nextStop++) {
          appendRunRange(tree, run, seq, stops[nextStop]!);
          seq = stops[nextStop]!;
          wanted.set(seq, tree.root());
        }
        appendRunRange(tree, run, seq, end);
        seq = end;
        prev = Buffer.from(run.leaves.subarray(run.leaves.length - 32));
        for (let m = (Math.floor(start / 0x10000) + 1) * 0x10000; m <= end; m += 0x10000)
          input.onProgress?.(m);
      };
      for (let next = first; next.done !== true; next = lines.next()) {
        const item = next.value;
        if (!('run' in item)) checkLine(item);
        // A run holding an entry that must record an erasure is read line by line, as are runs
        // that do not join: then every failure names the same seq in either way.
        else if (!runJoins(item.run) || erasures.waitsIn(item.run, seq))
          for (const line of item.lines()) checkLine(line);
        else {
          file = item.file;
          report.contentFields.verified += item.run.verified;
          report.contentFields.erased += item.run.erased;
          input.onRun?.(item.run);
          erasures.claim(item.run.claims);
          addRun(item.run);
        }
      }
      // Stored entries before the boundary that stop short of it were never shown to lead to it.
      if (throughBoundary && seq < boundary!.size)
        fail(
          'CHAIN_SEQ_GAP',
          `boundary.json: the log ends at seq ${seq}, before the boundary at ${boundary!.size}`,
          { source: 'boundary.json' },
        );
    } catch (err) {
      lines.return?.();
      throw err;
    }
    if (input.erasures === undefined) erasures.finish(seq, input.live === true);
    input.onProgress?.(seq);
    report.entries = seq;
    const root = tree.root();
    report.root = root.toString('base64');
    file = '';
    // A checkpoint kept elsewhere (a witness) that the log no longer reaches is a rollback; one
    // whose root differs is a fork: another history signed with the same key.
    const checkRoot = ([cp, source]: [Checkpoint, string], witnessed = false): void => {
      if (cp.size > seq) {
        fail(
          'TREE_SIZE_MISMATCH',
          witnessed
            ? `rollback: ${source} covers ${cp.size} entries but the log has ${seq} (an older state of the log)`
            : `${source} covers ${cp.size} entries but the log has ${seq} (entries removed)`,
          {
            source,
            checkpointSize: cp.size,
            entries: seq,
          },
        );
      }
      const computed = wanted.get(cp.size);
      if (computed === undefined) {
        fail('TREE_SIZE_MISMATCH', `${source} (size ${cp.size}) precedes the verified range`, {
          source,
          checkpointSize: cp.size,
        });
      }
      if (!computed.equals(cp.rootHash)) {
        fail(
          'ROOT_MISMATCH',
          witnessed
            ? `fork: ${source}: root at size ${cp.size} differs from the log (another history under the same key)`
            : `${source}: root at size ${cp.size} differs from the log (rewritten or forked)`,
          {
            source,
            size: cp.size,
            expected: cp.rootHash.toString('base64'),
            computed: computed.toString('base64'),
          },
        );
      }
    };
    let latest: Checkpoint | undefined;
    for (const c of own) {
      checkRoot(c);
      if (latest === undefined || c[0].size >= latest.size) latest = c[0];
    }
    if (latest !== undefined)
      report.latestCheckpoint = { size: latest.size, root: latest.rootHash.toString('base64') };
    for (const c of input.claimedRoots ?? []) {
      const computed = wanted.get(c.size);
      // A size before a pruned trail's boundary has no recomputed root: its summary went with it.
      if (computed !== undefined && computed.toString('base64') !== c.root)
        fail('ROOT_MISMATCH', `${c.source}: root at size ${c.size} differs from the log`, {
          source: c.source,
        });
    }
    for (const c of external) {
      checkRoot(c, true);
      report.against.push({ source: c[1], size: c[0].size, ok: true });
    }
    const signed = latest?.size ?? 0;
    if (seq > signed) {
      if (!input.live) {
        fail(
          latest === undefined ? 'CHECKPOINT_MISSING' : 'TREE_SIZE_MISMATCH',
          `entries ${signed}..${seq - 1} are not covered by any checkpoint`,
          { checkpointSize: signed, entries: seq },
        );
      }
      report.unsignedTail = seq - signed;
    }
    if (input.seals !== undefined) {
      const s = input.seals;
      const result = verifySeals([...s.records], s.seed, input.origin, {
        t0: s.t0,
        epochMs: s.epochMs,
        now: s.now,
        rootAt: (size: number) => wanted.get(size),
        treeSize: seq,
        closed: !input.live,
        writerKey: s.writerKey,
      });
      report.seals = {
        epochs: result.sealedEpochs,
        lastSealedSize: result.lastSealedSize,
        writerKeyChecked: result.writerKeyChecked,
      };
    }
    report.ok = true;
  } catch (err) {
    // What could not be read (permissions, a lost connection) is not evidence of tampering.
    if (!(err instanceof AuditError) || NOT_FAILURES.has(err.code)) throw err;
    const failure: NonNullable<VerifyReport['failure']> = { code: err.code, message: err.message };
    // A failure that names its file (a segment that cannot be read, even before its first line)
    // is reported there; any other, at the file of the last line read.
    const where = typeof err.detail.file === 'string' ? err.detail.file : file;
    if (where !== '') {
      // A failure found after its entry was passed (a run taken whole) names that entry itself.
      failure.seq = typeof err.detail.seq === 'number' ? err.detail.seq : seq;
      failure.file = where;
    }
    if (typeof err.detail.source === 'string') failure.source = err.detail.source;
    report.failure = failure;
    report.entries = Math.max(report.entries, seq);
  }
  return report;
}
