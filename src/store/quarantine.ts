/**
 * The torn tails crash recovery moved to `quarantine/` (docs/format.md §9), rewritten line by
 * line: erasure must reach a subject's content there too. A torn tail is raw bytes, possibly not
 * even UTF-8 (zeros after a power loss): lines the transform keeps stay byte for byte.
 */
import fs from 'node:fs';
import path from 'node:path';
import { withFile, writeFileAtomic } from './fs-safe.js';

const NEWLINE = 0x0a;

/**
 * Applies `transform` to every line of every quarantined file; a file is rewritten (atomically,
 * 0600) only when a line changed. `transform` gets the line without its newline and returns the
 * new line, or undefined to keep it. Returns the number of files rewritten.
 * @throws AuditError STORE_IO naming the file on an I/O error (files done so far stay done).
 */
export function rewriteQuarantine(dir: string, transform: (line: string) => string | undefined): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let rewritten = 0;
  for (const name of names) {
    const file = path.join(dir, name);
    withFile(file, 'rewrite', () => {
      if (!fs.lstatSync(file).isFile()) return;
      const bytes = fs.readFileSync(file);
      const parts: Buffer[] = [];
      let changed = false;
      for (let start = 0; start < bytes.length; ) {
        const nl = bytes.indexOf(NEWLINE, start);
        const end = nl < 0 ? bytes.length : nl;
        const line = bytes.subarray(start, end);
        const replaced = transform(line.toString('utf8'));
        if (replaced === undefined) parts.push(line);
        else {
          parts.push(Buffer.from(replaced, 'utf8'));
          changed = true;
        }
        if (nl >= 0) parts.push(bytes.subarray(nl, nl + 1));
        start = end + 1;
      }
      if (!changed) return;
      writeFileAtomic(file, Buffer.concat(parts));
      rewritten++;
    });
  }
  return rewritten;
}
