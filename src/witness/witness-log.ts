/**
 * What a collector holds as a witness: per origin, one JSON-lines file of the checkpoints it
 * accepted, `<trail dir>/witness/<SHA-256 of the origin, hex>.jsonl`, each line
 * `{origin, verifierKey, size, root, note, receivedAt, by}` (`by` is the pushing token's name).
 * The first line pins the origin's verifier key. Appends are durable (fsync).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { appendJsonLine, ensureDir, readLines, withFile } from '../store/index.js';
import type { HeldState } from './accept.js';

/** One accepted checkpoint. */
export interface WitnessRecord {
  origin: string;
  verifierKey: string;
  size: number;
  root: string;
  note: string;
  receivedAt: string;
  by: string;
}

/** What is kept in memory per origin: the held state, the newest record and the count. */
type Head = HeldState & { by: string; count: number; last: WitnessRecord };

/** The witness records of one collector. */
export class WitnessLog {
  private readonly dir: string;
  /** Newest state per origin, read from the file once, then kept as appends go. */
  private readonly heads = new Map<string, Head>();

  constructor(trailDir: string) {
    this.dir = path.join(trailDir, 'witness');
  }

  private file(origin: string): string {
    return path.join(this.dir, `${createHash('sha256').update(origin).digest('hex')}.jsonl`);
  }

  /** Every checkpoint held for `origin`, in the order accepted (sizes increase). */
  records(origin: string): WitnessRecord[] {
    const file = this.file(origin);
    return withFile(file, 'read', () => [...this.each(origin)]);
  }

  /**
   * Up to `limit` checkpoints held for `origin` with a size above `after`, oldest first, and
   * whether more follow: the file is read only as far as the page reaches, never held whole.
   */
  page(origin: string, after: number, limit: number): { records: WitnessRecord[]; more: boolean } {
    return withFile(this.file(origin), 'read', () => {
      const records: WitnessRecord[] = [];
      for (const r of this.each(origin)) {
        if (r.size <= after) continue;
        if (records.length === limit) return { records, more: true };
        records.push(r);
      }
      return { records, more: false };
    });
  }

  /** The records of `origin`'s file, read line by line; lines that are not its records skipped. */
  private *each(origin: string): Generator<WitnessRecord> {
    const file = this.file(origin);
    if (!fs.existsSync(file)) return;
    for (const { text } of readLines(file)) {
      let r: Partial<WitnessRecord> | null;
      try {
        r = JSON.parse(text) as Partial<WitnessRecord> | null;
      } catch {
        continue;
      }
      if (typeof r === 'object' && r !== null && r.origin === origin && typeof r.size === 'number') {
        yield r as WitnessRecord;
      }
    }
  }

  /**
   * The pinned key and newest checkpoint held for `origin`, with the name of the token that first
   * pushed it (only that token may push it again), or undefined.
   */
  held(origin: string): (HeldState & { by: string }) | undefined {
    return this.head(origin);
  }

  private head(origin: string): Head | undefined {
    let head = this.heads.get(origin);
    if (head === undefined) {
      const all = this.records(origin);
      const last = all.at(-1);
      if (last === undefined) return undefined;
      head = {
        verifierKey: all[0]!.verifierKey,
        size: last.size,
        root: last.root,
        by: all[0]!.by,
        count: all.length,
        last,
      };
      this.heads.set(origin, head);
    }
    return head;
  }

  /**
   * The newest checkpoint held for `origin` and how many are held, or undefined; from memory once
   * the file was read.
   */
  newest(origin: string): { record: WitnessRecord; count: number } | undefined {
    const head = this.head(origin);
    return head === undefined ? undefined : { record: head.last, count: head.count };
  }

  /** Appends an accepted checkpoint durably. @throws AuditError STORE_IO. */
  append(record: WitnessRecord): void {
    const before = this.head(record.origin);
    ensureDir(this.dir);
    appendJsonLine(this.file(record.origin), record);
    this.heads.set(record.origin, {
      verifierKey: before?.verifierKey ?? record.verifierKey,
      size: record.size,
      root: record.root,
      by: before?.by ?? record.by,
      count: (before?.count ?? 0) + 1,
      last: record,
    });
  }
}
