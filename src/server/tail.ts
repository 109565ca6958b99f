/**
 * The live tail behind `GET /v1/tail`: a server-sent-events answer that polls the trail for entries
 * appended after a seq and writes each one, until the client goes away or the collector closes.
 * Tails hold a connection and poll the store every second for as long as they stay open, so
 * {@link TailSlots} caps how many one token and the whole collector may hold. A slow reader holds
 * the loop (it waits for the socket to drain) rather than have the answer grow in memory; the wait
 * removes its listeners whichever way it ends, so a long tail does not pile them up.
 */
import type { ServerResponse } from 'node:http';
import { AuditError, isAuditError } from '../errors.js';

/** How many live tails may be open at once. */
export interface TailLimits {
  /** Per token (default 4). */
  perToken: number;
  /** In all, every token together (default 64). */
  total: number;
}

/** The limits when none are given. */
export const DEFAULT_TAIL_LIMITS: Readonly<TailLimits> = { perToken: 4, total: 64 };

/** A comment line every 15 idle polls keeps proxies from closing a quiet tail. */
const KEEPALIVE_POLLS = 15;
/** How long an ended tail may take to send its last bytes before its connection is cut. */
const END_GRACE_MS = 2000;

/** The slots of the open tails, counted per token and in all. */
export class TailSlots {
  readonly limits: Readonly<TailLimits>;
  private readonly perToken = new Map<string, number>();
  private total = 0;

  /** @throws AuditError CONFIG_INVALID when a limit is not a positive integer. */
  constructor(limits: Partial<TailLimits> = {}) {
    const full = { ...DEFAULT_TAIL_LIMITS, ...limits };
    for (const name of ['perToken', 'total'] as const) {
      const v = full[name];
      if (!Number.isSafeInteger(v) || v < 1)
        throw new AuditError('CONFIG_INVALID', `tails.${name}: expected a positive integer`, {
          field: `tails.${name}`,
        });
    }
    this.limits = full;
  }

  /** Tails open now. */
  get open(): number {
    return this.total;
  }

  /**
   * Takes a slot for a tail of `tokenId`: a release function (safe to call more than once), or
   * which limit is reached.
   */
  take(tokenId: string): (() => void) | 'perToken' | 'total' {
    const mine = this.perToken.get(tokenId) ?? 0;
    if (mine >= this.limits.perToken) return 'perToken';
    if (this.total >= this.limits.total) return 'total';
    this.perToken.set(tokenId, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perToken.get(tokenId) ?? 1) - 1;
      if (left === 0) this.perToken.delete(tokenId);
      else this.perToken.set(tokenId, left);
    };
  }
}

/** What a tail reads and how it reports. */
export interface TailFeed<E> {
  /** The seq the next entry will have (the number of entries in the trail). */
  endSeq(): Promise<number>;
  /** The matching entries with seq in [from, to), oldest first. */
  read(from: number, to: number): AsyncIterable<E>;
  /** The text of one `data:` message for an entry (one line of JSON). */
  show(entry: E): string;
  /** Called once when the tail has ended, with the number of entries sent. */
  ended(sent: number): void;
  /** Between polls, in ms. */
  pollMs: number;
}

/** One open tail, writing to `res` (its headers not yet sent) from seq `next` on. */
export class LiveTail<E> {
  private readonly res: ServerResponse;
  private readonly feed: TailFeed<E>;
  private next: number;
  private sent = 0;
  private stopped = false;
  /** Times the loop waited for a slow reader's socket to drain. */
  drainWaits = 0;
  /** Wakes the loop out of a wait (for the next poll or for the socket to drain). */
  private wake: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(res: ServerResponse, next: number, feed: TailFeed<E>) {
    this.res = res;
    this.next = next;
    this.feed = feed;
    if (res.destroyed) {
      // The client left while the tail was being opened (its opening read was being recorded):
      // the response's 'close' has fired already, so nothing else would ever stop the loop, which
      // would poll on, unseen, and hold its slot until the collector closed.
      this.stopped = true;
    } else {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.write(': sealtrail tail\n\n');
      // 'close' on the response: the client went away, or the answer ended and was sent.
      res.once('close', () => void this.stop());
    }
    this.done = this.run().finally(() => this.feed.ended(this.sent));
  }

  /**
   * Ends the tail: no more polls or writes, the answer is ended (its connection cut if the client
   * does not take the last bytes within two seconds). Resolves once the loop has returned and
   * `ended` was called.
   */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.wake?.();
      if (!this.res.destroyed) {
        this.res.end();
        const cut = setTimeout(() => this.res.destroy(), END_GRACE_MS);
        cut.unref();
        this.res.once('close', () => clearTimeout(cut));
      }
    }
    return this.done;
  }

  private async run(): Promise<void> {
    let idle = 0;
    while (!this.stopped) {
      try {
        const end = await this.feed.endSeq();
        if (end > this.next) {
          for await (const e of this.feed.read(this.next, end)) {
            if (this.stopped) return;
            if (!this.res.write(`data: ${this.feed.show(e)}\n\n`)) await this.drained();
            this.sent++;
          }
          this.next = end;
          idle = 0;
        } else if (++idle % KEEPALIVE_POLLS === 0 && !this.stopped) {
          this.res.write(': keepalive\n\n');
        }
      } catch (err) {
        if (this.stopped) return;
        const code = isAuditError(err) ? err.code : 'INTERNAL';
        this.res.write(`event: error\ndata: ${JSON.stringify({ error: code })}\n\n`);
      }
      await this.pause(this.feed.pollMs);
    }
  }

  /** Waits until the socket drains, the response closes or the tail stops; leaves no listener. */
  private drained(): Promise<void> {
    const res = this.res;
    if (this.stopped || res.destroyed) return Promise.resolve();
    this.drainWaits++;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        this.wake = undefined;
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
      this.wake = done;
    });
  }

  /** Waits `ms`, or less when the tail stops. */
  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Listeners the tail holds on its response (for tests: they must not grow with the stream). */
  listenerCount(): number {
    return this.res.listenerCount('drain') + this.res.listenerCount('close');
  }
}
