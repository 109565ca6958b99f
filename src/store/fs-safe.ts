/**
 * File-system helpers that apply the house rules: directories 0700, files 0600, durable
 * replace-by-rename, and I/O errors turned into AuditError STORE_IO naming the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AuditError } from '../errors.js';
import { writeAll } from '../write-all.js';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/**
 * Creates a directory (and parents) with mode 0700. Not `mkdirSync`'s `recursive`: on Node 20 it
 * loops forever where mkdir says ENOENT under a parent that exists (`/proc/1/x`, measured).
 */
export function ensureDir(dir: string): void {
  if (makeDir(dir) !== 'ENOENT') return;
  const parent = path.dirname(dir);
  if (parent !== dir) ensureDir(parent);
  if (makeDir(dir) === 'ENOENT') fs.mkdirSync(dir, { mode: DIR_MODE }); // throws the ENOENT itself
}

/**
 * Creates a directory a store is about to take as its own, and makes it private: one made
 * beforehand (`mkdir audit`) has the umask's mode, often 0755. Called only when the store is
 * new, so that a mode set on purpose later is kept.
 */
export function ensurePrivateDir(dir: string): void {
  ensureDir(dir);
  fs.chmodSync(dir, DIR_MODE);
}

/** mkdir of one level: done, or ENOENT for a missing parent; any other failure throws. */
function makeDir(dir: string): 'done' | 'ENOENT' {
  try {
    fs.mkdirSync(dir, { mode: DIR_MODE });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'ENOENT';
    if (code !== 'EEXIST' || !fs.statSync(dir).isDirectory()) throw err;
  }
  return 'done';
}

/** fsyncs a directory so that a created or renamed entry in it is durable. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The name of a temp file {@link writeFileAtomic} leaves behind when its process dies before the rename. */
export const ATOMIC_TEMP_RE = /\.tmp-[0-9]+$/;

/** Writes a whole file durably: temp file (0600), fsync, rename, fsync of the directory. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', FILE_MODE);
  try {
    writeAll(fd, data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true }); // the old file stays as it was
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
}

/** Appends bytes to a file (created 0600) and fsyncs it. */
export function appendFileDurable(file: string, data: string): void {
  const fd = fs.openSync(file, 'a', FILE_MODE);
  try {
    writeAll(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs `fn`, turning a Node I/O error into AuditError STORE_IO that names the file. */
export function withFile<T>(file: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AuditError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new AuditError('STORE_IO', `cannot ${what} ${file}: ${code}`, { file, errno: code }, err);
  }
}

/** {@link withFile} for asynchronous work. */
export async function withFileAsync<T>(file: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    return withFile(file, what, () => {
      throw err;
    });
  }
}

/** Reads a file as UTF-8, or undefined when it does not exist. */
export function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
