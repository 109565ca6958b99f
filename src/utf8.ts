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

const EXACT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The lines of `block` (newline-separated bytes) as text, a leading BOM kept; a line that is not
 * UTF-8 as undefined, so that it is refused where it stands, not read with U+FFFD in its place.
 */
export function strictUtf8Lines(block: Buffer): Array<string | undefined> {
  try {
    return EXACT.decode(block).split('\n');
  } catch {
    const lines: Array<string | undefined> = [];
    let at = 0;
    for (;;) {
      const nl = block.indexOf(0x0a, at);
      const line = block.subarray(at, nl < 0 ? block.length : nl);
      try {
        lines.push(EXACT.decode(line));
      } catch {
        lines.push(undefined);
      }
      if (nl < 0) return lines;
      at = nl + 1;
    }
  }
}
