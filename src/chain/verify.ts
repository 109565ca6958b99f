/**
 * Full verification of a trail: every chain link and sequence number, every content commitment,
 * the Merkle root at every stored checkpoint, every checkpoint signature, the checkpoints kept
 * elsewhere (`--against`), and, given the seed, every forward-secure seal. Pure logic over
 * {@link VerifyInput}; the store supplies the lines. Stops at the first failure and names its seq.
 */

import { AuditError, type AuditErrorCode } from '../errors.js';
import { canonicalJson } from '../event/canonical.js';
import { type Checkpoint, openCheckpoint } from './checkpoint.js';
import { CompactTree } from './compact-tree.js';
import { NoteVerifier } from './note.js';
import {
  digestContent,
  GENESIS_PREV,
  parseCommitted,
  parsePayloads,
  parseRecordTail,
  splitLine,
} from './record.js';
import { EMPTY_TREE_ROOT, hashLeaf } from './rfc6962.js';
import { type SealRecord, verifySeals } from './seal.js';

/** A checkpoint to check, with where it came from (for messages). */
export interface CheckpointInput {
  note: string;
  source: string;
}

/** What {@link verifyTrail} reads. */
export interface VerifyInput {
  origin: string;
  /** The verifier key trusted for checkpoints (the trail's own, or one given by the auditor). */
  verifierKey: string;
  /** Stored lines in seq order from seq 0, with the file each came from. */
  lines: Iterable<{ text: string; file: string }>;
  /** The trail's own checkpoints, oldest first. */
  checkpoints: readonly CheckpointInput[];
  /** Checkpoints kept elsewhere: each must be consistent with the log. */
  against?: readonly CheckpointInput[];
  /** True while a writer has the trail open (its newest entries may not be checkpointed or sealed yet). */
  live: boolean;
  seals?: { records: readonly SealRecord[]; seed: string; t0: number; epochMs: number; now: number };
  /** Stored leaf hash of an entry (persisted tree), checked against the recomputed one. */
  storedLeaf?: (seq: number) => Buffer | undefined;
  onProgress?: (entries: number) => void;
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
  seals?: { epochs: number; lastSealedSize: number };
  contentFields: { verified: number; erased: number };
  /** Entries after the latest checkpoint while the writer runs (not yet signed). */
  unsignedTail: number;
  failure?: { code: AuditErrorCode; message: string; seq?: number; file?: string; source?: string };
}

function fail(code: AuditErrorCode, message: string, extra: Record<string, unknown> = {}): never {
  throw new AuditError(code, message, extra);
}

// 16 bytes in canonical base64: a lenient decoder would ignore a damaged padding character.
const SALT_RE = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

// The start of a committed record as the writer writes it: the content digests (names sorted),
// then the event. Read with one regex instead of parsing the whole record (measured: the parse was
// a quarter of verify's time); anything else takes the full parse.
const NAME = '[A-Za-z][A-Za-z0-9_]{0,63}';
const DIGEST = '[A-Za-z0-9+/]{43}=';
const RECORD_HEAD_RE = new RegExp(
  `^\\{(?:"content":\\{("${NAME}":"${DIGEST}"(?:,"${NAME}":"${DIGEST}")*)\\},)?"event":\\{`,
);
const DIGEST_ENTRY_RE = new RegExp(`"(${NAME})":"(${DIGEST})"`, 'g');
const SALT_CHARS = 24;

/** The content digests of a committed record, by name in stored order; undefined when it has none. */
function contentDigests(committed: string): Array<[string, string]> | undefined {
  const m = RECORD_HEAD_RE.exec(committed.length > 4096 ? committed.slice(0, 4096) : committed);
  if (m === null) {
    const content = parseCommitted(committed).content;
    return content === undefined ? undefined : Object.entries(content);
  }
  if (m[1] === undefined) return undefined;
  return Array.from(m[1].matchAll(DIGEST_ENTRY_RE), (d) => [d[1]!, d[2]!]);
}

/**
 * The common case, checked without parsing: the payloads are exactly
 * `{"name":{"salt":"..","value":V},...}` for the committed names in order, and every V, as
 * stored, hashes to its digest. Then the stored bytes are those committed. False means "not
 * shown here" (an erased payload, a value holding the next field's header, or a real mismatch),
 * and the full check decides.
 */
function payloadsMatchFast(digests: Array<[string, string]>, payloads: string): boolean {
  let at = 0;
  for (let i = 0; i < digests.length; i++) {
    const [name, digest] = digests[i]!;
    const head = `${i === 0 ? '{' : ','}"${name}":{"salt":"`;
    if (!payloads.startsWith(head, at)) return false;
    at += head.length;
    const salt = payloads.slice(at, at + SALT_CHARS);
    at += SALT_CHARS;
    if (!payloads.startsWith('","value":', at)) return false;
    at += 10;
    const end =
      i + 1 < digests.length
        ? payloads.indexOf(`},"${digests[i + 1]![0]}":{"salt":"`, at)
        : payloads.length - 2;
    if (end < at || payloads.charCodeAt(end) !== 0x7d || !SALT_RE.test(salt)) return false;
    if (digestContent(name, salt, payloads.slice(at, end)) !== digest) return false;
    at = end + 1;
  }
  return at === payloads.length - 1 && payloads.charCodeAt(at) === 0x7d; // the closing } of the object
}

/** Checks the content payloads of one entry against the digests in its committed record. */
function verifyContent(
  committed: string,
  payloads: string | undefined,
  counts: VerifyReport['contentFields'],
): void {
  const list = contentDigests(committed);
  if (list === undefined) {
    if (payloads !== undefined)
      fail('CONTENT_COMMITMENT_MISMATCH', 'payloads present but no content digests');
    return;
  }
  if (payloads !== undefined && payloadsMatchFast(list, payloads)) {
    counts.verified += list.length;
    return;
  }
  const digests = new Map(list);
  const stored = payloads === undefined ? {} : parsePayloads(payloads);
  for (const name of Object.keys(stored)) {
    if (!digests.has(name)) fail('CONTENT_COMMITMENT_MISMATCH', `content.${name}: payload without a digest`);
  }
  for (const [name, digest] of digests) {
    const p = Object.hasOwn(stored, name) ? stored[name] : undefined;
    if (p === undefined) fail('CONTENT_COMMITMENT_MISMATCH', `content.${name}: payload missing`);
    if ('erased' in p) {
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
 * @throws AuditError KEY_INVALID when the verifier key itself is malformed.
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
  };
  const verifier = NoteVerifier.fromVkey(input.verifierKey);
  let seq = 0;
  let file = '';
  try {
    const own = openAll(input.checkpoints, verifier, input.origin);
    const external = openAll(input.against ?? [], verifier, input.origin);
    const seals = input.seals?.records ?? [];
    // Sizes at which the recomputed root must be known.
    const wanted = new Map<number, Buffer | undefined>();
    for (const [cp] of [...own, ...external]) wanted.set(cp.size, undefined);
    for (const s of seals) wanted.set(s.size, undefined);
    const tree = new CompactTree();
    if (wanted.has(0)) wanted.set(0, EMPTY_TREE_ROOT);
    let prev: Buffer = GENESIS_PREV;
    for (const line of input.lines) {
      file = line.file;
      const { committed, payloads } = splitLine(line.text);
      const tail = parseRecordTail(committed);
      if (tail.seq !== seq) {
        fail('CHAIN_SEQ_GAP', `expected seq ${seq}, found ${tail.seq}`, { expected: seq, found: tail.seq });
      }
      if (!tail.prev.equals(prev))
        fail('CHAIN_LINK_MISMATCH', `prev does not match the hash of entry ${seq - 1}`);
      verifyContent(committed, payloads, report.contentFields);
      const leaf = hashLeaf(committed);
      const stored = input.storedLeaf?.(seq);
      if (stored !== undefined && !stored.equals(leaf)) {
        fail(
          'LEAF_HASH_MISMATCH',
          `entry ${seq} does not match its persisted leaf hash (entry or tree file changed)`,
        );
      }
      tree.append(leaf);
      prev = leaf;
      seq++;
      if (wanted.has(seq)) wanted.set(seq, tree.root());
      if ((seq & 0xffff) === 0) input.onProgress?.(seq);
    }
    input.onProgress?.(seq);
    report.entries = seq;
    const root = tree.root();
    report.root = root.toString('base64');
    file = '';
    const checkRoot = ([cp, source]: [Checkpoint, string]): void => {
      if (cp.size > seq) {
        fail(
          'TREE_SIZE_MISMATCH',
          `${source} covers ${cp.size} entries but the log has ${seq} (entries removed)`,
          {
            source,
            checkpointSize: cp.size,
            entries: seq,
          },
        );
      }
      const computed = wanted.get(cp.size)!;
      if (!computed.equals(cp.rootHash)) {
        fail(
          'ROOT_MISMATCH',
          `${source}: root at size ${cp.size} differs from the log (rewritten or forked)`,
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
    for (const c of external) {
      checkRoot(c);
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
      });
      report.seals = { epochs: result.sealedEpochs, lastSealedSize: result.lastSealedSize };
    }
    report.ok = true;
  } catch (err) {
    if (!(err instanceof AuditError) || err.code === 'KEY_INVALID') throw err;
    const failure: NonNullable<VerifyReport['failure']> = { code: err.code, message: err.message };
    if (file !== '') {
      failure.seq = seq;
      failure.file = file;
    }
    if (typeof err.detail.source === 'string') failure.source = err.detail.source;
    report.failure = failure;
    report.entries = Math.max(report.entries, seq);
  }
  return report;
}
