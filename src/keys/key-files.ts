/**
 * File operations for key material, on top of the store's fs-safe helpers (0600 files, 0700
 * directories, fsync): exclusive creation, same-length overwrite in place, and shredding.
 * Key files are rewritten in place rather than renamed over, like the seal key, so an old
 * wrapped key does not linger in a renamed-away file's blocks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FILE_MODE, syncDir } from '../store/index.js';
import { writeAll } from '../write-all.js';

/**
 * Creates `file` with `data`, durably, failing with EEXIST when it exists: the bytes go to a
 * temp file (0600, fsynced) that is then hard-linked to the name, so the file appears whole or
 * not at all, and two creators cannot both win.
 * @throws Error from node:fs (EEXIST when the file exists); callers wrap it.
 */
export async function createFileExclusive(file: string, data: string | Uint8Array): Promise<void> {
  // Asynchronous: the fsyncs run on libuv's pool, not on the thread that asked for a key.
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const handle = await fs.promises.open(tmp, 'wx', FILE_MODE);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.promises.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await fs.promises.link(tmp, file);
  } finally {
    await fs.promises.unlink(tmp);
  }
  await syncDirShared(path.dirname(file));
}

/** The directory sync running for a directory, and the one queued after it. */
const dirSyncs = new Map<string, { running?: Promise<void> | undefined; next?: Promise<void> | undefined }>();

/**
 * fsyncs `dir`, sharing the work among concurrent callers (group commit for directory entries):
 * one who asks while a sync runs waits for the next one, which starts after it and so covers the
 * entry the caller made, where the running one may not. A thousand subject keys created at once
 * took a thousand directory syncs before.
 * @throws Error from node:fs.
 */
function syncDirShared(dir: string): Promise<void> {
  let state = dirSyncs.get(dir);
  if (state === undefined) {
    state = {};
    dirSyncs.set(dir, state);
  }
  const st = state;
  if (st.running === undefined) {
    const run: Promise<void> = fsyncDir(dir).finally(() => {
      if (st.running === run) st.running = undefined;
      if (st.running === undefined && st.next === undefined) dirSyncs.delete(dir);
    });
    st.running = run;
    return run;
  }
  st.next ??= st.running
    .catch(() => undefined)
    .then(() => {
      st.next = undefined;
      return syncDirShared(dir);
    });
  return st.next;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Overwrites `file` from offset 0 with `data`, which must be exactly as long as the file, and
 * fsyncs it: the same blocks are rewritten, no copy is left behind.
 * @throws Error from node:fs, or when the lengths differ.
 */
export function overwriteInPlace(file: string, data: Uint8Array): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const size = fs.fstatSync(fd).size;
    if (size !== data.length) throw new Error(`expected ${data.length} bytes, found ${size}`);
    writeAll(fd, data, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Overwrites `file` with zeros, fsyncs, unlinks it and fsyncs the directory. On a copy-on-write
 * file system or a flash drive the old blocks may survive the overwrite (docs/keys.md).
 * @returns false when the file did not exist.
 * @throws Error from node:fs other than ENOENT.
 */
export function shredFile(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    writeAll(fd, Buffer.alloc(size), 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.unlinkSync(file);
  syncDir(path.dirname(file));
  return true;
}

/**
 * Refuses a key file that others can read or write (like ssh does with private keys).
 * @returns the mode bits that are too open, or 0.
 */
export function looseModeBits(file: string): number {
  if (process.platform === 'win32') return 0;
  return fs.statSync(file).mode & 0o077;
}
