/**
 * What every verb shares: option parsing (node:util parseArgs, strict), the trail directory
 * default (`--dir`, then $SEALTRAIL_DIR, then ./audit), output helpers and the progress line.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { readString } from '../config/env-string.js';
import { AuditError } from '../errors.js';
import { escapeHostile } from '../event/index.js';
import { strictUtf8Lines } from '../utf8.js';

/** Options every trail verb takes. */
export const DIR_OPTION = { dir: { type: 'string' } } as const;

/** Parses argv for one verb; a bad option becomes a USAGE error naming it. */
export function parseVerbArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  verb: string,
  args: string[],
  options: T,
  allowPositionals = false,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true; tokens: true }>
  >;
  try {
    parsed = parseArgs({ args, options, allowPositionals, strict: true, tokens: true });
  } catch (err) {
    const first = (err as Error).message.split('\n')[0]!;
    // Node's hint for this case is on a later line, which the one-line contract would drop.
    const dashed = /^Option '(-[^']+)' argument is ambiguous\.$/.exec(first);
    if (dashed !== null)
      throw new AuditError(
        'USAGE',
        `${verb}: ${dashed[1]}: a value starting with '-' must be given as ${dashed[1]}=VALUE`,
      );
    throw new AuditError('USAGE', `${verb}: ${first}`);
  }
  // An option given twice that takes one value: the last would silently win (`--dir a --dir b`).
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option' || options[t.name]?.multiple === true) continue;
    if (seen.has(t.name)) throw new AuditError('USAGE', `${verb}: ${t.rawName} given more than once`);
    seen.add(t.name);
  }
  return parsed;
}

/** The trail directory: --dir, then $SEALTRAIL_DIR, then ./audit. */
export function trailDir(dir: string | undefined): string {
  // an empty --dir (an unset "$DIR") is a mistake, not the current directory
  if (dir === '') throw new AuditError('USAGE', '--dir: expected a path, got an empty string');
  return dir ?? readString(process.env, 'SEALTRAIL_DIR') ?? './audit';
}

/** Parses a non-negative integer option (`shown`: how the message names it, default `--<name>`). */
export function intOption(name: string, value: string | undefined, shown = `--${name}`): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new AuditError('USAGE', `${shown}: expected a non-negative integer`);
  // every 15-digit number is exact (below 2 ** 53); no count, seq or size gets past them
  if (value.length > 15)
    throw new AuditError('USAGE', `${shown}: expected at most 999999999999999, got ${value.length} digits`);
  return Number(value);
}

/**
 * All of standard input as text. Bytes that are not UTF-8 are refused, naming the first line that
 * holds them, not turned into U+FFFD: a redactor that promises the rest byte for byte, or a
 * match against a recorded hash, must not work on a changed text.
 * @throws AuditError EVENT_INVALID naming the line.
 */
export async function readStdinText(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  const lines = strictUtf8Lines(Buffer.concat(chunks));
  const bad = lines.indexOf(undefined);
  if (bad >= 0)
    throw new AuditError('EVENT_INVALID', `stdin line ${bad + 1}: not valid UTF-8`, {
      field: 'stdin',
      line: bad + 1,
    });
  return lines.join('\n');
}

/** Writes to stdout, respecting back-pressure at exit. */
export function out(text: string): void {
  if (!stdoutGone) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

let stdoutGone = false;
let stdoutFailed: NodeJS.ErrnoException | undefined;

/**
 * Called once by the CLI: when the reader of stdout goes away (`sealtrail query | head`), the
 * output ends quietly, not with an EPIPE stack trace, and the verb still finishes its work (a
 * read is recorded with what was printed). Any other write error (a full disk under
 * `> file`, EIO) also stops the output and lets the verb finish, and is then one line on stderr
 * and exit 2 ({@link stdoutError}), not a stack trace.
 */
export function watchStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') stdoutFailed ??= err;
    stdoutGone = true;
  });
}

/** The error that stopped stdout, other than its reader going away; undefined when none did. */
export function stdoutError(): NodeJS.ErrnoException | undefined {
  return stdoutFailed;
}

/** True once stdout's reader has gone away: loops that print stop there. */
export function stdoutClosed(): boolean {
  return stdoutGone;
}

/** Writes to stdout, waiting while the pipe is full (bounded memory); nothing once it is closed. */
export function writeOut(text: string): Promise<void> | undefined {
  if (text === '' || stdoutGone || process.stdout.write(text)) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      process.stdout.off('drain', done).off('close', done);
      resolve();
    };
    process.stdout.once('drain', done).once('close', done);
  });
}

/**
 * `value` as JSON text with the escapes of the stored format (docs/format.md §3): a stored C1
 * control, DEL, bidi override or zero-width code point reaches no terminal raw, and the text
 * still parses to the same value.
 */
export function jsonText(value: unknown, indent?: number): string {
  return escapeHostile(JSON.stringify(value, null, indent));
}

/** Prints `value` as one line of JSON (see {@link jsonText}). */
export function outJson(value: unknown): void {
  out(jsonText(value));
}

/** A one-line progress indicator on stderr, only on a TTY. */
export function progress(label: string, total?: number): { update(n: number): void; done(): void } {
  if (process.stderr.isTTY !== true) return { update() {}, done() {} };
  let last = 0;
  return {
    update(n: number) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      let line = `${label} ${n.toLocaleString('en-US')}`;
      if (total !== undefined && total > 0) {
        const frac = Math.min(1, n / total);
        const width = 30;
        const filled = Math.round(frac * width);
        line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ${n.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`;
      }
      process.stderr.write(`\r${line}\x1b[K`);
    },
    done() {
      if (last !== 0) process.stderr.write('\r\x1b[K');
    },
  };
}
