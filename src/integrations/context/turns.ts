/**
 * Turn numbers per conversation, assigned as requests arrive. Memory is bounded: an LRU map of at
 * most `maxConversations` ids, each forgotten after `ttlMs` without a request. A conversation
 * forgotten (or a process restarted) starts again at turn 1; a client that knows its turn can say
 * so and the counter continues from there.
 */
import { AuditError } from '../../errors.js';

/**
 * The highest turn a client may claim. A claim above it is ignored, so a hostile header cannot
 * push a conversation's count past what the event model accepts (every later turn would fail).
 */
export const MAX_CLAIMED_TURN = 999_999_999;

/** A turn claimed in a header: 1–9 decimal digits, else undefined (never an error). */
export function parseClaimedTurn(value: string | undefined): number | undefined {
  return value !== undefined && /^[0-9]{1,9}$/.test(value) ? Number(value) : undefined;
}

/** Options of {@link TurnCounter}. */
export interface TurnCounterOptions {
  /** Conversations remembered at once (default 10,000); the least recently used is forgotten first. */
  maxConversations?: number;
  /** A conversation without a request for this long is forgotten (default 24 h). */
  ttlMs?: number;
  /** The clock (default `Date.now`). */
  now?: () => number;
}

/** Counts turns per conversation id in bounded memory. */
export class TurnCounter {
  private readonly max: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Map order is insertion order: re-inserting on use keeps the least recent first. */
  private readonly turns = new Map<string, { turn: number; seen: number }>();

  /** @throws AuditError CONFIG_INVALID naming `maxConversations` or `ttlMs`. */
  constructor(options: TurnCounterOptions = {}) {
    this.max = options.maxConversations ?? 10_000;
    this.ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
    if (!Number.isSafeInteger(this.max) || this.max < 1)
      throw new AuditError('CONFIG_INVALID', 'maxConversations: expected a positive integer', {
        field: 'maxConversations',
      });
    if (!(this.ttlMs > 0))
      throw new AuditError('CONFIG_INVALID', 'ttlMs: expected a positive number', { field: 'ttlMs' });
  }

  /**
   * The next turn of `conversationId` (1 for a new one). `claimed`, a turn the client says this
   * is, is taken when it is ahead of the count and at most {@link MAX_CLAIMED_TURN}.
   */
  next(conversationId: string, claimed?: number): number {
    const now = this.now();
    const known = this.turns.get(conversationId);
    let turn = known !== undefined && now - known.seen <= this.ttlMs ? known.turn + 1 : 1;
    if (claimed !== undefined && Number.isInteger(claimed) && claimed <= MAX_CLAIMED_TURN && claimed > turn)
      turn = claimed;
    if (known !== undefined) this.turns.delete(conversationId);
    this.turns.set(conversationId, { turn, seen: now });
    if (this.turns.size > this.max) {
      const oldest = this.turns.keys().next().value as string;
      this.turns.delete(oldest);
    }
    return turn;
  }

  /** Conversations remembered now. */
  get size(): number {
    return this.turns.size;
  }
}
