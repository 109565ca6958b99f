/**
 * Memos of the keys the redactor meets at each place of its inputs (the event's `actor`, the
 * items of `meta.tags`, ...). Events of one application have the same keys in the same order
 * event after event, so where a key goes and how its name is judged are found by comparing the
 * key with the one seen at that position last time, instead of looking them up in a cache per
 * key (measured: a Map lookup per key was a fifth of the redaction of a clean AI event).
 *
 * A memo only ever saves a lookup: each entry is checked against the key before it is used, and a
 * memo made for another class or level of the walk is emptied first, so what the walk does is the
 * same with or without it. Memory is bounded: at most `MEMO_KEYS` keys per object, at most
 * `MAX_MEMOS` memos per redactor (all are dropped when the limit is reached, as a cache is).
 */

/** Keys remembered per object: later keys are looked up each time. */
export const MEMO_KEYS = 64;
/** Memos per redactor before all are dropped and made anew. */
export const MAX_MEMOS = 2048;

/** The memos of one redactor. `T`: where a key leads; `I`: the judgement of its name; `R`: a class run. */
export class KeyMemos<T, I, R> {
  private readonly roots = new Map<string, KeyMemo<T, I, R>>();
  private count = 0;

  /** The memo of the top of one kind of input (an event, a value of one class). */
  root(at: string): KeyMemo<T, I, R> {
    let m = this.roots.get(at);
    if (m === undefined) {
      m = this.make();
      this.roots.set(at, m);
    }
    return m;
  }

  /** A new memo; at the limit, every memo is dropped first (those in use stay valid, unreachable). */
  make(): KeyMemo<T, I, R> {
    if (this.count >= MAX_MEMOS) {
      this.roots.clear();
      this.count = 0;
    }
    this.count++;
    return new KeyMemo(this);
  }
}

/** What was seen at one place: per key position, the key, where it led and its judgement. */
export class KeyMemo<T, I, R> {
  private level = '';
  private run: R | null = null;
  /** `key, target, info` per position; a null key is no entry. */
  private entries: Array<string | T | I | null | undefined> = [];
  /** The memo of the value under each key position, made when first needed. */
  private kids: Array<KeyMemo<T, I, R> | undefined> | undefined;
  /** The memo shared by the items of an array here. */
  private items: KeyMemo<T, I, R> | undefined;

  constructor(private readonly owner: KeyMemos<T, I, R>) {}

  /** Empties the memo when it was made for another level or class of the walk. */
  check(level: string, run: R | null): void {
    if (this.level === level && this.run === run) return;
    this.level = level;
    this.run = run;
    this.entries = [];
    this.kids = undefined;
    this.items = undefined;
  }

  /** True when the key at position `i` was `k` last time, so `target(i)` and `info(i)` hold for it. */
  has(i: number, k: string): boolean {
    return i < MEMO_KEYS && this.entries[3 * i] === k;
  }

  target(i: number): T {
    return this.entries[3 * i + 1] as T;
  }

  info(i: number): I | undefined {
    return this.entries[3 * i + 2] as I | undefined;
  }

  /** Records key `k` at position `i`; with `keep` false the position is left without an entry. */
  set(i: number, k: string, target: T, info: I | undefined, keep: boolean): void {
    if (i >= MEMO_KEYS) return;
    const e = this.entries;
    // positions are met in order, so the array never has holes
    e[3 * i] = keep ? k : null;
    e[3 * i + 1] = target;
    e[3 * i + 2] = info;
    if (this.kids !== undefined) this.kids[i] = undefined;
  }

  /** The memo of the value under key position `i`, or null past `MEMO_KEYS`. */
  kid(i: number): KeyMemo<T, I, R> | null {
    if (i >= MEMO_KEYS) return null;
    if (this.kids === undefined) this.kids = [];
    let m = this.kids[i];
    if (m === undefined) {
      m = this.owner.make();
      this.kids[i] = m;
    }
    return m;
  }

  /** The memo shared by the items of an array at this place. */
  itemMemo(): KeyMemo<T, I, R> {
    if (this.items === undefined) this.items = this.owner.make();
    return this.items;
  }
}
