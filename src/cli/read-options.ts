/**
 * What the reading verbs share: the filter options (turned into a QueryFilter, errors naming the
 * option), the table row for a terminal (every string rendered visibly, erased payloads shown as
 * `[erased]`), and writing to stdout with back-pressure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AuditError, isAuditError } from '../errors.js';
import { renderVisible } from '../event/index.js';
import {
  checkKeyIds,
  type KeyRing,
  keyDirPaths,
  openKeyDirRing,
  openKeyDirSubjectKeys,
  type SubjectKeyStore,
  trailKeyPaths,
} from '../keys/index.js';
// The reveal hook of content protection (not re-exported by protect/index.ts).
import { contentRevealer } from '../protect/content-modes.js';
import { type AuditEntry, type ContentReveal, ERASED_MARKER, type QueryFilter } from '../read/index.js';
import { readTrailMeta } from '../store/index.js';
import { intOption } from './common.js';
import type { ReadTarget } from './postgres-options.js';

/** The filter options of query, export, report, timeline and anomalies. */
export const FILTER_OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  since: { type: 'string' },
  type: { type: 'string', multiple: true },
  category: { type: 'string', multiple: true },
  severity: { type: 'string', multiple: true },
  'min-severity': { type: 'string' },
  actor: { type: 'string', multiple: true },
  'actor-type': { type: 'string', multiple: true },
  subject: { type: 'string', multiple: true },
  session: { type: 'string', multiple: true },
  ip: { type: 'string', multiple: true },
  conversation: { type: 'string', multiple: true },
  'request-id': { type: 'string', multiple: true },
  'trace-id': { type: 'string', multiple: true },
  resource: { type: 'string', multiple: true },
  action: { type: 'string', multiple: true },
  outcome: { type: 'string', multiple: true },
  guardrail: { type: 'string', multiple: true },
  model: { type: 'string', multiple: true },
  text: { type: 'string' },
  id: { type: 'string' },
  'seq-from': { type: 'string' },
  'seq-to': { type: 'string' },
} as const;

/** `--decrypt`: show encrypted content payloads (keys from the trail's key providers). */
export const DECRYPT_OPTION = { decrypt: { type: 'boolean' } } as const;

/**
 * The key ring a reader of `target` uses: the providers of its key directory (a trail's `keys/`,
 * or a PostgreSQL log's `--keys DIR`; then Vault and SEALTRAIL_KEY), checked against the keys the
 * trail has used (key-checks.json): a key replaced under an id would answer falsely.
 * @throws AuditError KEY_NOT_FOUND when no key provider has the trail's key, KEY_INVALID.
 */
export async function readerKeys(
  target: Pick<ReadTarget, 'source' | 'keysDir'>,
): Promise<{ ring: KeyRing; keysDir: string; origin: string }> {
  const { source } = target;
  const keysDir = typeof source === 'string' ? trailKeyPaths(source).keysDir : (target.keysDir ?? '.');
  const origin = typeof source === 'string' ? readTrailMeta(source).origin : source.meta.origin;
  const ring = await openKeyDirRing(keysDir, origin);
  checkKeyIds(keysDir, ring, { record: false });
  return { ring, keysDir, origin };
}

/**
 * The subject keys a reader may use, or undefined when the writer has made none: a reader never
 * creates key material (subjects/index.key wrapped under whatever key the reader was given
 * would leave the writer unable to open its own subject keys).
 */
async function readerSubjectKeys(keysDir: string, ring: KeyRing): Promise<SubjectKeyStore | undefined> {
  return fs.existsSync(path.join(keyDirPaths(keysDir).subjectsDir, 'index.key'))
    ? openKeyDirSubjectKeys(keysDir, ring)
    : undefined;
}

/**
 * The reveal hook for `--decrypt` on a directory or a PostgreSQL log: its key ring
 * ({@link readerKeys}) and subject keys (docs/keys.md), or undefined without the option.
 * @throws AuditError KEY_NOT_FOUND when no key provider has the trail's key, KEY_INVALID.
 */
export async function readReveal(
  target: Pick<ReadTarget, 'source' | 'keysDir'>,
  decrypt: boolean | undefined,
): Promise<ContentReveal | undefined> {
  if (decrypt !== true) return undefined;
  const { ring, keysDir, origin } = await readerKeys(target);
  // without the writer's subject keys only what the master key encrypted can be shown
  const subjects = await readerSubjectKeys(keysDir, ring);
  const reveal = contentRevealer(origin, subjects === undefined ? { ring } : { ring, subjects });
  if (typeof target.source === 'string') return (value, context) => reveal(value, context);
  // Crypto-shredded content (erase on a PostgreSQL log): the ciphertext stays, its key is gone.
  return (value, context) =>
    reveal(value, context).catch((err: unknown) => {
      if (isAuditError(err, 'KEY_DESTROYED')) return ERASED_MARKER;
      throw err;
    });
}

/** `--as WHO`: who is reading, for the audit record (default: the OS user). */
export const AS_OPTION = { as: { type: 'string' } } as const;

// Option name → filter field; enumerated fields also take comma-separated lists.
const FIELD_OF: Record<string, keyof QueryFilter> = {
  from: 'from',
  to: 'to',
  since: 'since',
  type: 'type',
  category: 'category',
  severity: 'severity',
  'min-severity': 'minSeverity',
  actor: 'actor',
  'actor-type': 'actorType',
  subject: 'subject',
  session: 'session',
  ip: 'ip',
  conversation: 'conversation',
  'request-id': 'requestId',
  'trace-id': 'traceId',
  resource: 'resource',
  action: 'action',
  outcome: 'outcome',
  guardrail: 'guardrail',
  model: 'model',
  text: 'text',
  id: 'id',
  'seq-from': 'seqFrom',
  'seq-to': 'seqTo',
};
const COMMA_LISTS = new Set(['type', 'category', 'severity', 'outcome', 'guardrail']);
const OPTION_OF = Object.fromEntries(Object.entries(FIELD_OF).map(([o, f]) => [f, o]));

/** The QueryFilter of the parsed filter options. */
export function filterFromOptions(values: Record<string, unknown>): QueryFilter {
  const filter: Record<string, unknown> = {};
  for (const [option, field] of Object.entries(FIELD_OF)) {
    const v = values[option];
    if (v === undefined) continue;
    if (field === 'seqFrom' || field === 'seqTo') filter[field] = intOption(option, v as string);
    else if (Array.isArray(v))
      filter[field] = COMMA_LISTS.has(option) ? v.flatMap((s: string) => s.split(',')) : v;
    else filter[field] = v;
  }
  return filter as QueryFilter;
}

function renamed(err: unknown): unknown {
  if (err instanceof AuditError && err.code === 'USAGE' && typeof err.detail.field === 'string') {
    const field = err.detail.field;
    const option = OPTION_OF[field] ?? field;
    if (err.message.startsWith(`${field}:`)) {
      // other fields the message names (`must be greater than seqFrom`, `give since or from`,
      // `later than from`) become options too
      const others =
        field === 'since' || field === 'to' ? /\b(seqFrom|seqTo|since|from)\b/g : /\b(seqFrom|seqTo)\b/g;
      const rest = err.message.slice(field.length).replace(others, (f) => `--${OPTION_OF[f] ?? f}`);
      return new AuditError('USAGE', `--${option}${rest}`, { field: option });
    }
  }
  return err;
}

/** Runs `fn` (sync or async), renaming a filter field in a USAGE message to its option (`from:` → `--from:`). */
export function withOptionNames<T>(fn: () => T): T {
  try {
    const r = fn();
    if (r instanceof Promise) {
      return r.catch((err: unknown) => {
        throw renamed(err);
      }) as T;
    }
    return r;
  } catch (err) {
    throw renamed(err);
  }
}

/**
 * Checks an output path (`--out`, `--manifest`) of a read verb: not empty, and not inside the
 * trail directory it reads, where an export or report written over a segment, checkpoint, key or
 * trail.json (`--out audit/trail.json`) would lose recorded entries. Symbolic links are followed.
 * @throws AuditError USAGE naming the option.
 */
export function checkOutputPath(option: string, file: string | undefined, trail: ReadTarget['source']): void {
  if (file === undefined) return;
  if (file === '')
    throw new AuditError('USAGE', `--${option}: expected a path, got an empty string`, { field: option });
  if (typeof trail !== 'string') return;
  const real = (p: string, orElse: () => string): string => {
    try {
      return fs.realpathSync(p);
    } catch {
      return orElse();
    }
  };
  // the file itself when it exists (a link to a trail file is followed by report's write), else its directory
  const target = real(file, () =>
    path.join(
      real(path.dirname(path.resolve(file)), () => path.dirname(path.resolve(file))),
      path.basename(file),
    ),
  );
  const rel = path.relative(
    real(trail, () => path.resolve(trail)),
    target,
  );
  if (rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel)))
    throw new AuditError(
      'USAGE',
      `--${option}: ${renderVisible(file)} is inside the trail directory; write it elsewhere`,
      { field: option },
    );
}

/** `--order`: newest or oldest. */
export function orderOption(value: string | undefined, fallback: 'newest' | 'oldest'): 'newest' | 'oldest' {
  if (value === undefined) return fallback;
  if (value !== 'newest' && value !== 'oldest')
    throw new AuditError('USAGE', '--order: expected newest or oldest');
  return value;
}

/** `--format` checked against the allowed values. */
export function formatOption<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new AuditError('USAGE', `--format: expected ${allowed.join(', ')}`);
  }
  return value as T;
}

function group(e: AuditEntry, name: string): Record<string, unknown> | undefined {
  const g = e[name];
  return typeof g === 'object' && g !== null ? (g as Record<string, unknown>) : undefined;
}

function preview(v: unknown, max = 60): string {
  const cut = (s: string) => (s.length > max ? `${s.slice(0, max)}…` : s);
  return typeof v === 'string' ? JSON.stringify(cut(v)) : cut(JSON.stringify(v));
}

/** The details column: outcome, resource, model, guardrails and content previews. */
export function entryDetails(e: AuditEntry): string {
  const parts: string[] = [];
  if (e.outcome !== undefined) parts.push(`outcome=${String(e.outcome)}`);
  const resource = group(e, 'resource');
  if (resource !== undefined) parts.push(`resource=${String(resource.type)}:${String(resource.id)}`);
  const model = group(e, 'model');
  if (model?.name !== undefined) parts.push(`model=${String(model.name)}`);
  const conversation = group(e, 'conversation');
  if (conversation?.id !== undefined)
    parts.push(
      `conv=${String(conversation.id)}${conversation.turn === undefined ? '' : `#${String(conversation.turn)}`}`,
    );
  if (Array.isArray(e.guardrails)) {
    for (const g of e.guardrails as Array<Record<string, unknown>>) {
      parts.push(
        `guardrail=${String(g.name)}:${String(g.decision)}${g.reason === undefined ? '' : ` (${String(g.reason)})`}`,
      );
    }
  }
  for (const [name, v] of Object.entries(e.content ?? {})) parts.push(`${name}=${preview(v)}`);
  for (const name of e.erased ?? []) parts.push(`${name}=${ERASED_MARKER}`);
  return parts.join(' ');
}

/** The header of the table format. */
export const TABLE_HEADER = `${'SEQ'.padStart(7)}  ${'TIME'.padEnd(24)}  ${'SEVERITY'.padEnd(8)}  ${'TYPE'.padEnd(22)}  ${'ACTOR'.padEnd(14)}  DETAILS`;

/** One entry as a table row; hostile characters are shown as escapes, never raw. */
export function tableRow(e: AuditEntry): string {
  const actor = group(e, 'actor')?.id;
  return renderVisible(
    `${String(e.seq).padStart(7)}  ${String(e.ts).padEnd(24)}  ${String(e.severity).padEnd(8)}  ${String(e.type).padEnd(22)}  ${String(actor ?? '-').padEnd(14)}  ${entryDetails(e)}`,
  );
}

/** A read issue as one visible stderr line. */
export function issueLine(issue: { seq?: number; file: string; reason: string }): string {
  const where = issue.seq === undefined ? issue.file : `seq ${issue.seq} (${issue.file})`;
  return renderVisible(`sealtrail: skipped unreadable line at ${where}: ${issue.reason}`);
}

/**
 * What goes to stdout for `format`: CSV cannot escape, so to a terminal each record is rendered
 * visibly (a stored escape sequence is shown, never run); to a file or pipe the cells are the
 * exact values. JSON escapes hostile code points itself.
 */
export function stdoutText(format: string): (text: string) => string {
  if (format !== 'csv' || process.stdout.isTTY !== true) return (text) => text;
  return (text) => text.split('\r\n').map(renderVisible).join('\r\n');
}
