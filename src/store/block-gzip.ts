/**
 * Block gzip, the form of an archived segment (docs/format.md §8): the segment's bytes cut into
 * blocks of equal size, each compressed as its own gzip member (RFC 1952 §2.2 lets a file hold any
 * number), then one empty member whose extra field indexes the others. Any gunzip reads the file
 * whole as the segment's bytes; a reader that finds the index inflates only the blocks a read
 * touches, so a proof or a lookup into an archived segment costs a few blocks, not the segment.
 *
 * The index member, little-endian throughout:
 *   1f 8b 08 04 00000000 00 ff   gzip header with FEXTRA, no time, OS unknown
 *   XLEN (u16)                   4 + LEN
 *   'S' 'T' LEN (u16)            the subfield; LEN = 24 + 4 × blocks
 *   version (u32) = 1, blockBytes (u32), blocks (u32), lastBlockBytes (u32, decompressed),
 *   blocks × memberBytes (u32), check (the first 4 bytes of the SHA-256 of the subfield data
 *   before it), indexBytes (u32, this whole member's length: 26 + LEN)
 *   03 00                        an empty deflate stream
 *   00000000 00000000            CRC-32 and length of nothing
 * A reader finds it from the file's end: the last 10 bytes are fixed and the 4 before them give
 * the member's length.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * Bytes per block: a read inflates little (≈ 0.12 ms), and the archive is ≈ 4% larger than one
 * gzip member (64 KiB: 0.07 ms and 8%; 256 KiB: 0.22 ms and 2%; measured on a bench segment).
 */
export const BLOCK_BYTES = 128 * 1024;
/** Block sizes a reader accepts: what any writer's doubling gives, and no block too large to inflate. */
const MIN_BLOCK_BYTES = 1024;
const MAX_BLOCK_BYTES = 2 ** 30;
const INDEX_VERSION = 1;
const HEADER = [0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0x00, 0xff];
const SUBFIELD_ID = [0x53, 0x54]; // 'S' 'T'
const TAIL = [0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
/** Header, XLEN and subfield header before the subfield's data. */
const DATA_AT = HEADER.length + 2 + 4;
/** The subfield's data without the member lengths: four fields before them, check and length after. */
const FIXED_LEN = 24;
/** XLEN is 16 bits: the subfield's data holds at most 65531 bytes. */
const MAX_BLOCKS = Math.floor((65535 - 4 - FIXED_LEN) / 4);
const MIN_INDEX_BYTES = DATA_AT + FIXED_LEN + TAIL.length;
const MAX_INDEX_BYTES = DATA_AT + FIXED_LEN + 4 * MAX_BLOCKS + TAIL.length;

/** Where each block is, from an archive's index. */
export interface BlockIndex {
  blockBytes: number;
  /** Decompressed size of the whole archive. */
  size: number;
  /** Offset in the file of each block's member, and one past the last (the index member's start). */
  memberStarts: number[];
}

/** The file ends as an archive in block form, but its index does not hold together. */
export class DamagedIndexError extends Error {}

const check = (data: Uint8Array) => createHash('sha256').update(data).digest().subarray(0, 4);

/** The gzip of `data` in block form; blocks of `minBlockBytes`, doubled until the index fits. */
export function blockGzip(data: Buffer, level = 9, minBlockBytes = BLOCK_BYTES): Buffer {
  let blockBytes = minBlockBytes;
  while (Math.ceil(data.length / blockBytes) > MAX_BLOCKS) blockBytes *= 2;
  const members: Buffer[] = [];
  for (let at = 0; at < data.length; at += blockBytes)
    members.push(gzipSync(data.subarray(at, Math.min(data.length, at + blockBytes)), { level }));
  const last = members.length === 0 ? 0 : data.length - (members.length - 1) * blockBytes;
  return Buffer.concat([
    ...members,
    indexMember(
      blockBytes,
      last,
      members.map((m) => m.length),
    ),
  ]);
}

/** The index member of blocks of `blockBytes` (the last one `last` bytes) whose members have these lengths. */
export function indexMember(blockBytes: number, last: number, memberBytes: readonly number[]): Buffer {
  const len = FIXED_LEN + 4 * memberBytes.length;
  const indexBytes = DATA_AT + len + TAIL.length;
  const index = Buffer.alloc(indexBytes);
  index.set(HEADER, 0);
  index.writeUInt16LE(4 + len, HEADER.length);
  index.set(SUBFIELD_ID, HEADER.length + 2);
  index.writeUInt16LE(len, HEADER.length + 4);
  let at = DATA_AT;
  at = index.writeUInt32LE(INDEX_VERSION, at);
  at = index.writeUInt32LE(blockBytes, at);
  at = index.writeUInt32LE(memberBytes.length, at);
  at = index.writeUInt32LE(last, at);
  for (const m of memberBytes) at = index.writeUInt32LE(m, at);
  index.set(check(index.subarray(DATA_AT, at)), at);
  index.writeUInt32LE(indexBytes, at + 4);
  index.set(TAIL, at + 8);
  return index;
}

const matches = (buf: Buffer, at: number, bytes: readonly number[]) =>
  bytes.every((b, i) => buf[at + i] === b);

/**
 * Reads the index at the end of an archive of `fileBytes` bytes through `read` (positional, as
 * fs.readSync). Undefined when the file does not end with the index member's fixed last ten bytes
 * (one plain gzip member, as archives were written before blocks): the caller inflates it whole.
 * @throws DamagedIndexError when it ends so, but the index is not intact or does not add up.
 */
export function readBlockIndex(
  fileBytes: number,
  read: (buf: Buffer, position: number) => number,
): BlockIndex | undefined {
  if (fileBytes < MIN_INDEX_BYTES) return undefined;
  const end = Buffer.alloc(4 + TAIL.length);
  if (read(end, fileBytes - end.length) !== end.length || !matches(end, 4, TAIL)) return undefined;
  // A one-member archive ends with its data's CRC-32 and length, never both zero for a sealed
  // segment: from here on the file is in block form, and what does not hold together is damage.
  const damaged = (what: string): never => {
    throw new DamagedIndexError(`block index: ${what}`);
  };
  const indexBytes = end.readUInt32LE(0);
  if (indexBytes < MIN_INDEX_BYTES || indexBytes > Math.min(fileBytes, MAX_INDEX_BYTES))
    damaged('length out of range');
  const index = Buffer.alloc(indexBytes);
  if (read(index, fileBytes - indexBytes) !== indexBytes) damaged('cut short');
  if (!matches(index, 0, HEADER) || !matches(index, HEADER.length + 2, SUBFIELD_ID)) damaged('header');
  const len = indexBytes - DATA_AT - TAIL.length;
  if (index.readUInt16LE(HEADER.length) !== 4 + len || index.readUInt16LE(HEADER.length + 4) !== len)
    damaged('lengths do not match');
  const checkAt = DATA_AT + len - 8;
  if (!check(index.subarray(DATA_AT, checkAt)).equals(index.subarray(checkAt, checkAt + 4)))
    damaged('check does not match');
  if (index.readUInt32LE(DATA_AT) !== INDEX_VERSION) damaged('unknown version');
  const blockBytes = index.readUInt32LE(DATA_AT + 4);
  const blocks = index.readUInt32LE(DATA_AT + 8);
  const last = index.readUInt32LE(DATA_AT + 12);
  if (len !== FIXED_LEN + 4 * blocks) damaged('block count does not match');
  if (blockBytes < MIN_BLOCK_BYTES || blockBytes > MAX_BLOCK_BYTES) damaged('block size out of range');
  if (last > blockBytes || blocks > 0 !== last > 0) damaged('last block size out of range');
  const memberStarts = [0];
  for (let i = 0; i < blocks; i++)
    memberStarts.push(memberStarts[i]! + index.readUInt32LE(DATA_AT + 16 + 4 * i));
  if (memberStarts[blocks] !== fileBytes - indexBytes) damaged('member lengths do not add up to the file');
  return { blockBytes, size: blocks === 0 ? 0 : (blocks - 1) * blockBytes + last, memberStarts };
}

/**
 * Block `i` of an archive, decompressed and checked: gunzip checks the member's CRC-32 and length,
 * and its size must be the index's (never inflated past it).
 * @throws Error when the member is damaged.
 */
export function inflateBlock(index: BlockIndex, i: number, member: Buffer): Buffer {
  const blocks = index.memberStarts.length - 1;
  const want = i + 1 < blocks ? index.blockBytes : index.size - (blocks - 1) * index.blockBytes;
  const data = gunzipSync(member, { maxOutputLength: want });
  if (data.length !== want) throw new Error(`block ${i} holds ${data.length} bytes, expected ${want}`);
  return data;
}
