/**
 * Exports: the entries a filter selects, streamed oldest first as JSONL, JSON or CSV with bounded
 * memory, and a manifest that lets an auditor check the export is complete and unmodified: the
 * filter, the entry count and seq range, the signed checkpoint the export was taken against (and
 * how many exported entries it does not yet cover), the SHA-256 and size of the export file, and
 * every line that could not be read.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NoteVerifier, openCheckpoint } from '../chain/index.js';
import { AuditError } from '../errors.js';
import { DirSource, FILE_MODE, withFile } from '../store/index.js';
import type { PgSource } from '../store/postgres/index.js';
import { writeAll } from '../write-all.js';
import { type EntryFormat, entryWriter } from './export-format.js';
import { type QueryOptions, query } from './query.js';
import type { QueryFilter } from './query-filter.js';
import type { ReadIssue } from './query-scan.js';

/** Options of {@link exportEntries} and {@link exportToFile}. */
export interface ExportOptions extends Pick<QueryOptions, 'limit' | 'reveal' | 'onIssue' | 'now'> {
  format: EntryFormat;
  /** Default `oldest`. */
  order?: 'oldest' | 'newest';
  /** Called now and then with the number of lines read so far. */
  onProgress?: (linesRead: number) => void;
}

/** The signed checkpoint an export was taken against. */
export interface ExportCheckpoint {
  size: number;
  root: string;
  /** The C2SP signed note, as stored. */
  note: string;
  /** True when its signature verified against the trail's verifier key. */
  signatureVerified: boolean;
}

/** What an export manifest holds (`<file>.manifest.json`). */
export interface ExportManifest {
  format: 'sealtrail-export/1';
  origin: string;
  createdAt: string;
  entryFormat: EntryFormat;
  /** The filter as applied (normalized: lists, absolute times). */
  filter: Record<string, unknown>;
  order: 'oldest' | 'newest';
  limit?: number;
  entries: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** The latest signed checkpoint when the export started; null when the trail has none yet. */
  checkpoint: ExportCheckpoint | null;
  /** Exported entries with a seq at or past the checkpoint's size (written after it). */
  uncoveredEntries: number;
  /** The export file: its name, size and SHA-256 (hex). */
  file: string | null;
  bytes: number;
  sha256: string;
  /** Lines that could not be read or decoded (at most 1000 listed; `issueCount` counts all). */
  issues: ReadIssue[];
  issueCount: number;
}

const CHUNK_CHARS = 1 << 20;

function latestCheckpoint(source: DirSource | PgSource): ExportCheckpoint | null {
  const note = source.latestCheckpoint();
  if (note === undefined) return null;
  try {
    const cp = openCheckpoint(note, NoteVerifier.fromVkey(source.meta.verifierKey));
    return { size: cp.size, root: cp.rootHash.toString('base64'), note, signatureVerified: true };
  } catch {
    const lines = note.split('\n');
    return { size: Number(lines[1]) || 0, root: lines[2] ?? '', note, signatureVerified: false };
  }
}

/**
 * Streams the selected entries through `write` (each chunk is awaited, so a slow sink holds the
 * reader back: memory stays bounded) and returns the manifest (with `file` null).
 * @throws AuditError USAGE (bad filter or format), TRAIL_NOT_FOUND.
 */
export async function exportEntries(
  dirOrSource: string | DirSource | PgSource,
  filter: QueryFilter,
  write: (chunk: string) => void | Promise<void>,
  options: ExportOptions,
): Promise<ExportManifest> {
  if (!['jsonl', 'json', 'csv'].includes(options.format)) {
    throw new AuditError('USAGE', 'format: expected jsonl, json or csv', { field: 'format' });
  }
  const source = typeof dirOrSource === 'string' ? new DirSource(dirOrSource) : dirOrSource;
  const checkpoint = latestCheckpoint(source);
  const order = options.order ?? 'oldest';
  const qOptions: QueryOptions = { order };
  if (options.limit !== undefined) qOptions.limit = options.limit;
  if (options.reveal !== undefined) qOptions.reveal = options.reveal;
  if (options.onIssue !== undefined) qOptions.onIssue = options.onIssue;
  if (options.now !== undefined) qOptions.now = options.now;
  const q = query(source, filter, qOptions);
  const w = entryWriter(options.format);
  const hash = createHash('sha256');
  let bytes = 0;
  let pending = '';
  const flush = async () => {
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    hash.update(chunk);
    bytes += Buffer.byteLength(chunk);
    await write(chunk);
  };
  let entries = 0;
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let uncovered = 0;
  pending += w.start();
  for await (const e of q) {
    pending += w.entry(e);
    entries++;
    firstSeq ??= e.seq;
    lastSeq = e.seq;
    if (checkpoint === null || e.seq >= checkpoint.size) uncovered++;
    if (pending.length >= CHUNK_CHARS) {
      await flush();
      options.onProgress?.(q.stats.linesRead);
    }
  }
  pending += w.end();
  await flush();
  options.onProgress?.(q.stats.linesRead);
  const manifest: ExportManifest = {
    format: 'sealtrail-export/1',
    origin: source.meta.origin,
    createdAt: new Date().toISOString(),
    entryFormat: options.format,
    filter: { ...q.filter.normalized },
    order,
    entries,
    firstSeq,
    lastSeq,
    checkpoint,
    uncoveredEntries: uncovered,
    file: null,
    bytes,
    sha256: hash.digest('hex'),
    issues: q.issues,
    issueCount: q.stats.issues,
  };
  if (options.limit !== undefined) manifest.limit = options.limit;
  return manifest;
}

/** A file written whole or not at all: `<file>.partial` (mode 0600), fsynced, then renamed. */
export class PartialFile {
  readonly fd: number;
  private readonly partial: string;

  /** Opens `<file>.partial` now, so that a path that cannot be written fails before any work. */
  constructor(readonly file: string) {
    this.partial = `${file}.partial`;
    this.fd = withFile(file, 'write', () => {
      // a directory in its place would fail only at the rename, after the whole export
      if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory() === true)
        throw Object.assign(new Error(`${file} is a directory`), { code: 'EISDIR' });
      return fs.openSync(this.partial, 'w', FILE_MODE);
    });
  }

  write(text: string): void {
    withFile(this.partial, 'write', () => writeAll(this.fd, text));
  }

  /** Flushes, closes and renames it to its name. */
  commit(): void {
    withFile(this.file, 'write', () => {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      fs.renameSync(this.partial, this.file);
    });
  }

  /** Closes and removes it. */
  abandon(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed by a failed commit.
    }
    fs.rmSync(this.partial, { force: true });
  }
}

/** A manifest as its file holds it. */
export function manifestText(manifest: ExportManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * True when an export to `file` and its manifest `manifestFile` would write the same path: the
 * export is the manifest, or the manifest's `.partial` (see {@link PartialFile}), also through a
 * symlinked directory. The two would then share a `.partial` file, the manifest's rename would
 * fail (and the export be removed with it), or the export would end under the manifest's name.
 */
export function outputsCollide(file: string, manifestFile: string): boolean {
  const a = writtenPath(file);
  const b = writtenPath(manifestFile);
  return a === b || a === `${b}.partial` || b === `${a}.partial`;
}

/**
 * The path a write to `file` lands on: its directory with symlinks resolved, and its name (the
 * rename that commits an output replaces a symlink of that name, not its target).
 */
function writtenPath(file: string): string {
  const abs = path.resolve(file);
  try {
    return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return abs; // no such directory: the open fails later and names it
  }
}

/**
 * Exports into `file` and writes the manifest beside it as `<file>.manifest.json` (or
 * `manifestFile`), each written whole or not at all (see {@link PartialFile}; both are opened
 * before anything is read). Returns the manifest.
 * @throws AuditError USAGE (also for a `manifestFile` that is `file`, see {@link outputsCollide}),
 * TRAIL_NOT_FOUND, STORE_IO when a file cannot be written.
 */
export async function exportToFile(
  dirOrSource: string | DirSource | PgSource,
  filter: QueryFilter,
  file: string,
  options: ExportOptions & { manifestFile?: string },
): Promise<ExportManifest> {
  const manifestPath = options.manifestFile ?? `${file}.manifest.json`;
  if (outputsCollide(file, manifestPath))
    throw new AuditError('USAGE', 'manifestFile: the export file is this path (or its .partial)', {
      field: 'manifestFile',
    });
  const data = new PartialFile(file);
  let manifestFile: PartialFile;
  try {
    manifestFile = new PartialFile(manifestPath);
  } catch (err) {
    data.abandon();
    throw err;
  }
  let committed = false;
  try {
    const manifest = await exportEntries(dirOrSource, filter, (chunk) => data.write(chunk), options);
    manifest.file = path.basename(file);
    manifestFile.write(manifestText(manifest));
    data.commit();
    committed = true;
    manifestFile.commit();
    return manifest;
  } catch (err) {
    data.abandon();
    manifestFile.abandon();
    // the pair is whole or absent: an export without its manifest is removed
    if (committed) fs.rmSync(file, { force: true });
    throw err;
  }
}

/**
 * Checks an export file against its manifest: size and SHA-256.
 * @returns undefined when they match, otherwise what differs.
 */
export function checkExport(
  file: string,
  manifest: Pick<ExportManifest, 'bytes' | 'sha256'>,
): string | undefined {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  let size = 0;
  try {
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) {
      hash.update(buf.subarray(0, n));
      size += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  if (size !== manifest.bytes) return `size ${size} differs from the manifest's ${manifest.bytes}`;
  return hash.digest('hex') === manifest.sha256 ? undefined : 'sha256 differs from the manifest';
}
