/**
 * Entry ids: UUIDv7 (RFC 9562 §5.7), so ids sort by creation time, and monotonic within the
 * process (RFC 9562 §6.2, method 1: a 12-bit counter in `rand_a`), so ids emitted in one
 * millisecond still sort in emission order.
 *
 * Every event gets one, so this is on the hot path: randomness comes from a pooled
 * `randomFillSync` buffer (one call per ~2000 ids), and the time prefix is formatted once per
 * millisecond.
 */
import { randomFillSync } from 'node:crypto';

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Random bytes drawn per id: 8 for `rand_b` (62 bits used) and 2 to seed the counter. */
const POOL_BYTES = 16 * 1024;
const pool = new Uint8Array(POOL_BYTES);
let poolPos = POOL_BYTES;

/** The highest millisecond used so far and the counter within it. */
let lastMs = -1;
let counter = 0;
/** `xxxxxxxx-xxxx-7` for `lastMs`, formatted once per millisecond. */
let prefix = '';

/** The largest timestamp a UUIDv7 holds: 48 bits of milliseconds. */
const MAX_UUID7_MS = 2 ** 48 - 1;

function takeRandom(n: number): number {
  if (poolPos + n > POOL_BYTES) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const at = poolPos;
  poolPos += n;
  return at;
}

function startMillisecond(ms: number): void {
  lastMs = ms;
  const at = takeRandom(2);
  // Seeded randomly with the top bit clear (RFC 9562 §6.2 rollover guard): at least 2048 ids
  // fit in one millisecond before the counter borrows the next one.
  counter = ((pool[at]! & 0x07) << 8) | pool[at + 1]!;
  const hi = Math.floor(ms / 2 ** 16); // top 32 of the 48 bits; `>>` would truncate to 32 bits
  const lo = ms % 2 ** 16;
  prefix = `${HEX[(hi >>> 24) & 0xff]}${HEX[(hi >>> 16) & 0xff]}${HEX[(hi >>> 8) & 0xff]}${HEX[hi & 0xff]}-${HEX[lo >>> 8]}${HEX[lo & 0xff]}-7`;
}

/**
 * A new UUIDv7, lower-case hex with dashes. Its timestamp is `nowMs` (default `Date.now()`),
 * unless that is not after the previous id's: then the previous millisecond is kept and its
 * counter incremented, and when the counter overflows the next millisecond is borrowed, so ids
 * from this process strictly increase even if the clock steps back.
 */
export function newEventId(nowMs: number = Date.now()): string {
  // `>= 0` is false for NaN too: a broken clock still yields a valid, increasing id.
  const ms = nowMs >= 0 ? Math.min(Math.floor(nowMs), MAX_UUID7_MS) : 0;
  if (ms > lastMs) startMillisecond(ms);
  else if (++counter > 0xfff) startMillisecond(lastMs + 1);
  const r = takeRandom(8);
  const p = pool;
  // `7` (version) + 12-bit counter (rand_a), then variant `10` + 62 random bits (rand_b).
  return `${prefix}${(counter >>> 8).toString(16)}${HEX[counter & 0xff]}-${HEX[0x80 | (p[r]! & 0x3f)]}${HEX[p[r + 1]!]}-${HEX[p[r + 2]!]}${HEX[p[r + 3]!]}${HEX[p[r + 4]!]}${HEX[p[r + 5]!]}${HEX[p[r + 6]!]}${HEX[p[r + 7]!]}`;
}

/** The creation time (epoch ms) in a UUIDv7, or undefined for another kind of id. */
export function uuid7Ms(id: string): number | undefined {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.exec(id);
  return m === null ? undefined : Number.parseInt(m[1]! + m[2]!, 16);
}
