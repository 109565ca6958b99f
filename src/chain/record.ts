/**
 * The byte format of one stored entry (see docs/format.md), shared by the writer (whose hot loop
 * builds lines as bytes in writer/line-builder.ts) and the verifier that checks them. Pure: no I/O.
 *
 * A segment line is `<committed>` or `<committed>\t<payloads>`, then `\n`.
 * - `<committed>` is canonical JSON `{"content":{name:digest,...},"event":{...},"prev":"..","seq":N,"v":1}`
 *   (`content` only when the event had content). The RFC 6962 leaf is exactly these bytes.
 * - `<payloads>` is JSON `{name:{"salt":"..","value":<canonical JSON>},...}`: the content payloads,
 *   outside the leaf, each bound to the leaf by its salted digest, so a payload can be erased later
 *   and the log still verifies. The salt keeps a short erased payload from being guessed from its digest.
 * Neither part can contain a raw TAB or newline: canonical JSON escapes every control character.
 */
import { createHash } from 'node:crypto';
import { AuditError } from '../errors.js';
import { sha256Base64 } from './rfc6962.js';

/** Format version written as `"v"` in every committed record. */
export const RECORD_VERSION = 1;
/** Domain-separation prefix of content digests. */
export const CONTENT_DIGEST_PREFIX = 'sealtrail content v1\n';
/** `prev` of the first entry: 32 zero bytes. */
export const GENESIS_PREV = Buffer.alloc(32);
/** Bytes of random salt per content field. */
export const CONTENT_SALT_BYTES = 16;

/**
 * Salted digest that commits a content payload:
 * SHA-256(prefix || name || "\n" || salt || "\n" || valueJson), `salt` as its base64 text.
 * Binding the field name keeps payloads from being swapped between fields. One string, one
 * one-shot hash: this runs for every content field of every entry (measured: createHash with
 * several updates cost about three times as much). Base64, as the record holds it.
 */
export function digestContent(name: string, salt: string, valueJson: string): string {
  return sha256Base64(`${CONTENT_DIGEST_PREFIX}${name}\n${salt}\n${valueJson}`);
}

/** Values up to this size are digested from a scratch copy; larger ones are streamed. */
const DIGEST_SCRATCH_MAX = 1024 * 1024;
let digestScratch = Buffer.allocUnsafeSlow(4096);

/**
 * {@link digestContent} over the value's UTF-8 bytes as stored (writer and verifier hold bytes,
 * not strings). `name` and `salt` are ASCII: a validated content name and base64.
 */
export function digestContentBytes(name: string, salt: string, value: Uint8Array): string {
  const head = `${CONTENT_DIGEST_PREFIX}${name}\n${salt}\n`;
  const total = head.length + value.length;
  if (total > DIGEST_SCRATCH_MAX) return createHash('sha256').update(head).update(value).digest('base64');
  if (total > digestScratch.length)
    digestScratch = Buffer.allocUnsafeSlow(Math.max(total, 2 * digestScratch.length));
  const n = digestScratch.write(head, 0, 'latin1');
  digestScratch.set(value, n);
  return sha256Base64(digestScratch.subarray(0, total));
}

/** The chain fields at the end of a committed record, read without parsing the whole line. */
export interface RecordTail {
  seq: number;
  prev: Buffer;
}

// The writer always ends a record with exactly this shape; anything else is malformed.
const TAIL_RE = /,"prev":"([A-Za-z0-9+/]{43}=)","seq":(0|[1-9]\d{0,15}),"v":1\}$/;

/**
 * Reads `prev` and `seq` from the end of a committed record.
 * @throws AuditError ENTRY_MALFORMED when the record does not end as the writer writes it.
 */
export function parseRecordTail(committed: string): RecordTail {
  const m = TAIL_RE.exec(committed.length > 200 ? committed.slice(-200) : committed);
  if (m === null) throw new AuditError('ENTRY_MALFORMED', 'record does not end with prev, seq and v');
  return { prev: Buffer.from(m[1]!, 'base64'), seq: Number(m[2]) };
}

/** {@link parseRecordTail} of a committed record held as bytes: its tail is ASCII, so latin1 reads it exactly. */
export function parseRecordTailBytes(committed: Uint8Array): RecordTail {
  const b = Buffer.from(committed.buffer, committed.byteOffset, committed.byteLength);
  return parseRecordTail(b.toString('latin1', Math.max(0, b.length - 200)));
}

/** Splits a stored line (without its newline) into the committed part and the payload part. */
export function splitLine(line: string): { committed: string; payloads: string | undefined } {
  const tab = line.indexOf('\t');
  return tab < 0
    ? { committed: line, payloads: undefined }
    : { committed: line.slice(0, tab), payloads: line.slice(tab + 1) };
}

/** A committed record, parsed. */
export interface CommittedRecord {
  content?: Record<string, string>;
  event: Record<string, unknown>;
  prev: string;
  seq: number;
  v: number;
}

/** A stored payload: present, or erased (the digest in the record stays). */
/** An erasure marker: when, the seq of the entry that records the erasure (§2), and why. */
export interface ErasedMarker {
  at: string;
  by: number;
  reason?: string;
}

export type StoredPayload = { salt: string; value: unknown } | { erased: ErasedMarker };

/**
 * Parses a committed record and checks its shape.
 * @throws AuditError ENTRY_MALFORMED when it is not JSON or lacks the record fields.
 */
export function parseCommitted(committed: string): CommittedRecord {
  let rec: unknown;
  try {
    rec = JSON.parse(committed);
  } catch {
    throw new AuditError('ENTRY_MALFORMED', 'record is not valid JSON');
  }
  if (
    typeof rec !== 'object' ||
    rec === null ||
    typeof (rec as CommittedRecord).event !== 'object' ||
    (rec as CommittedRecord).event === null ||
    (rec as CommittedRecord).v !== RECORD_VERSION
  ) {
    throw new AuditError('ENTRY_MALFORMED', 'record lacks event or has an unknown version');
  }
  return rec as CommittedRecord;
}

/**
 * Parses the payload part of a line.
 * @throws AuditError ENTRY_MALFORMED when it is not a JSON object of payloads.
 */
export function parsePayloads(payloads: string): Record<string, StoredPayload> {
  let obj: unknown;
  try {
    obj = JSON.parse(payloads);
  } catch {
    throw new AuditError('ENTRY_MALFORMED', 'content payloads are not valid JSON');
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new AuditError('ENTRY_MALFORMED', 'content payloads are not an object');
  }
  for (const [name, p] of Object.entries(obj)) {
    if (!isStoredPayload(p)) throw new AuditError('ENTRY_MALFORMED', `content.${name}: malformed payload`);
  }
  return obj as Record<string, StoredPayload>;
}

/**
 * Exactly `{"salt": "...", "value": ...}` or `{"erased": {"at": "...", "by": n, "reason"?: "..."}}`
 * (docs/format.md): an erased marker carries nothing else, so no value can hide beside it.
 */
function isStoredPayload(p: unknown): boolean {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return false;
  const keys = Object.keys(p);
  if (keys.length === 2) return typeof (p as { salt?: unknown }).salt === 'string' && 'value' in p;
  if (keys.length !== 1 || keys[0] !== 'erased') return false;
  const e = (p as { erased: unknown }).erased;
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return false;
  const { at, by, reason, ...rest } = e as { at?: unknown; by?: unknown; reason?: unknown };
  return (
    typeof at === 'string' &&
    Number.isSafeInteger(by) &&
    (by as number) > 0 &&
    (reason === undefined || typeof reason === 'string') &&
    Object.keys(rest).length === 0
  );
}
