/**
 * A witness that is a directory, typically on another volume or host mount: one file per
 * checkpoint, `<dir>/checkpoints/<size, 20 digits>.note` (the archive's layout), created once
 * (exclusive create, 0600, fsync) and never rewritten.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkpointObjectName, parseCheckpointObjectName } from '../archive/index.js';
import { AuditError } from '../errors.js';
import { ensureDir, FILE_MODE, syncDir, withFile } from '../store/index.js';
import { writeAll } from '../write-all.js';
import type { CheckpointToStore, Witness, WitnessedCheckpoint } from './witness.js';

/** The checkpoint files in a witness directory. */
export class DirWitness implements Witness {
  readonly name: string;

  constructor(private readonly dir: string) {
    this.name = path.resolve(dir);
  }

  private file(size: number): string {
    return path.join(this.dir, checkpointObjectName(size));
  }

  /** The checkpoint files, by size. */
  private list(): Array<{ size: number; file: string }> {
    const folder = path.dirname(this.file(0));
    let names: string[];
    try {
      names = fs.readdirSync(folder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new AuditError(
        'STORE_IO',
        `cannot read ${folder}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`,
        {
          file: folder,
        },
      );
    }
    return names.sort().flatMap((name) => {
      const size = parseCheckpointObjectName(name);
      return size === undefined ? [] : [{ size, file: path.join(folder, name) }];
    });
  }

  private read(entry: { size: number; file: string }): WitnessedCheckpoint {
    return {
      size: entry.size,
      note: withFile(entry.file, 'read', () => fs.readFileSync(entry.file, 'utf8')),
      source: entry.file,
    };
  }

  async held(): Promise<WitnessedCheckpoint[]> {
    return this.list().map((e) => this.read(e));
  }

  async newest(): Promise<{ checkpoint: WitnessedCheckpoint | undefined; count: number }> {
    const all = this.list();
    const last = all.at(-1);
    return { checkpoint: last === undefined ? undefined : this.read(last), count: all.length };
  }

  async store(cp: CheckpointToStore): Promise<'stored' | 'present'> {
    const file = this.file(cp.size);
    ensureDir(path.dirname(file));
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx', FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new AuditError(
          'STORE_IO',
          `cannot create ${file}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`,
          {
            file,
          },
        );
      const there = withFile(file, 'read', () => fs.readFileSync(file, 'utf8'));
      if (there === cp.note) return 'present';
      throw new AuditError('WITNESS_CONFLICT', `fork: ${file} holds another checkpoint of size ${cp.size}`, {
        file,
      });
    }
    withFile(file, 'write', () => {
      try {
        writeAll(fd, cp.note);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      syncDir(path.dirname(file));
    });
    return 'stored';
  }

  close(): void {}
}
