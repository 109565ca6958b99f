/** Base64 (with padding) written straight into a buffer, for hot loops that build bytes. */

const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');

/** Characters of the base64 text of `n` bytes. */
export const base64Length = (n: number): number => 4 * Math.ceil(n / 3);

/**
 * Writes the base64 of src[start, start + n) at dst[at] and returns the bytes written. A loop
 * over bytes: for a salt, a hash or a field ciphertext, cheaper than Buffer#toString then
 * Buffer#write (measured).
 */
export function base64Into(dst: Buffer, at: number, src: Uint8Array, start: number, n: number): number {
  let o = at;
  let i = start;
  const end = start + n;
  for (; i + 2 < end; i += 3) {
    const v = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
    dst[o++] = BASE64[v >> 18]!;
    dst[o++] = BASE64[(v >> 12) & 63]!;
    dst[o++] = BASE64[(v >> 6) & 63]!;
    dst[o++] = BASE64[v & 63]!;
  }
  if (i < end) {
    const two = i + 1 < end;
    const v = (src[i]! << 16) | (two ? src[i + 1]! << 8 : 0);
    dst[o++] = BASE64[v >> 18]!;
    dst[o++] = BASE64[(v >> 12) & 63]!;
    dst[o++] = two ? BASE64[(v >> 6) & 63]! : 0x3d;
    dst[o++] = 0x3d; // =
  }
  return o - at;
}
