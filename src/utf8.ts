/**
 * Strict UTF-8 decoding for bytes that must be kept exactly: a lenient decode reads an invalid
 * byte as U+FFFD, which then passes for the text it replaced.
 */
const STRICT = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes`, or undefined when they are not UTF-8. */
export function strictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return STRICT.decode(bytes);
  } catch {
    return undefined;
  }
}
