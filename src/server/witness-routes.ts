/**
 * The collector as a witness of other trails: `POST /v1/witness/checkpoints` takes a signed
 * checkpoint `{verifierKey, note, proof}` and keeps it when it is consistent with the newest one
 * held for its origin (accept.ts: the key is pinned at first sight; a rollback or a fork is
 * refused with 409 WITNESS_CONFLICT); it needs a token with the `witness` scope. Offers for one
 * origin are decided one at a time. Nothing is cosigned: the witness keeps the trail's own signed
 * notes.
 *
 * `GET /v1/witness/checkpoints?origin=O` lists what is held for O, in pages (`limit`, at most the
 * collector's page size; `after`, a tree size: only checkpoints above it), oldest first, with
 * `nextAfter` for the next page. A `read` token may list any origin; a `witness` token only the
 * origins it pushed (another is answered as not held). `latest=1` lists only the newest checkpoint
 * (what a pusher continues from), with the count held. Each listing is recorded as an `audit.read`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuditError } from '../errors.js';
import { decideOffered, WitnessLog, type WitnessRecord } from '../witness/index.js';
import { sizeParam } from './params.js';
import type { TokenRecord } from './tokens.js';

const B64_HASH = /^[A-Za-z0-9+/]{43}=$/;
const MAX_PROOF = 64;
const MAX_NOTE = 8192;

function field(name: string, message: string): AuditError {
  return new AuditError('USAGE', `${name}: ${message}`, { field: name });
}

function parseOffer(body: unknown): { verifierKey: string; note: string; proof: Buffer[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw field('body', 'expected a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.verifierKey !== 'string' || b.verifierKey === '')
    throw field('verifierKey', 'expected a C2SP vkey');
  if (typeof b.note !== 'string' || b.note === '' || b.note.length > MAX_NOTE)
    throw field('note', 'expected a signed checkpoint note');
  const proof = b.proof ?? [];
  if (!Array.isArray(proof) || proof.length > MAX_PROOF)
    throw field('proof', `expected at most ${MAX_PROOF} base64 hashes`);
  const hashes = proof.map((h, i) => {
    if (typeof h !== 'string' || !B64_HASH.test(h))
      throw field(`proof.${i}`, 'expected a base64 SHA-256 hash');
    return Buffer.from(h, 'base64');
  });
  return { verifierKey: b.verifierKey, note: b.note, proof: hashes };
}

/** What the witness routes take from the collector. */
export interface WitnessRouteHooks {
  /** The authenticated token of a request. */
  caller(req: FastifyRequest): TokenRecord;
  /** Records a listing as an `audit.read` (verb `api.witness`); throws when it cannot. */
  recordRead(req: FastifyRequest, filter: Record<string, unknown>, count: number): Promise<void>;
  /** Most checkpoints in one page. */
  maxPage: number;
}

/** Default page size of a listing. */
const DEFAULT_PAGE = 100;
const LIST_PARAMS = ['origin', 'latest', 'limit', 'after'];

/** Adds the witness routes to the collector `app` keeping its records under `dir`. */
export function registerWitnessRoutes(app: FastifyInstance, dir: string, hooks: WitnessRouteHooks): void {
  const log = new WitnessLog(dir);
  const callerName = (req: FastifyRequest): string => hooks.caller(req).name;
  const queues = new Map<string, Promise<unknown>>();
  // One decision at a time per origin: two offers must not both be checked against the same held state.
  const serialized = <T>(origin: string, fn: () => T): Promise<T> => {
    const run = (queues.get(origin) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    queues.set(origin, tail);
    void tail.then(() => {
      if (queues.get(origin) === tail) queues.delete(origin);
    });
    return run;
  };

  app.post('/v1/witness/checkpoints', { config: { scope: 'witness' } }, async (req, reply) => {
    const offer = parseOffer(req.body);
    // Parsed once outside the queue to learn the origin; decided again inside it.
    const origin = decideOffered(undefined, offer).checkpoint.origin;
    const result = await serialized(origin, () => {
      const held = log.held(origin);
      // An origin is witnessed for the token that first pushed it: another cannot claim it.
      if (held !== undefined && held.by !== callerName(req))
        throw new AuditError('WITNESS_CONFLICT', `origin ${origin} is witnessed for another token`, {
          heldSize: held.size,
        });
      const decision = decideOffered(held, offer);
      const cp = decision.checkpoint;
      if (decision.status === 'stored') {
        log.append({
          origin,
          verifierKey: offer.verifierKey,
          size: cp.size,
          root: cp.rootHash.toString('base64'),
          note: offer.note,
          receivedAt: new Date().toISOString(),
          by: callerName(req),
        });
      }
      return { origin, size: cp.size, status: decision.status };
    });
    void reply.code(result.status === 'stored' ? 201 : 200);
    return result;
  });

  app.get('/v1/witness/checkpoints', { config: { scope: ['read', 'witness'] } }, async (req) => {
    const q = req.query as Record<string, string | string[] | undefined>;
    for (const [name, v] of Object.entries(q)) {
      if (!LIST_PARAMS.includes(name)) throw field(name, `unknown parameter (${LIST_PARAMS.join(', ')})`);
      if (Array.isArray(v)) throw field(name, 'give it once');
    }
    const origin = q.origin as string | undefined;
    if (typeof origin !== 'string' || origin === '') throw field('origin', 'expected the origin of a trail');
    const latest = q.latest === '1' || q.latest === 'true';
    if (q.latest !== undefined && !latest && q.latest !== '0' && q.latest !== 'false')
      throw field('latest', 'expected 1 or 0');
    if (latest && q.after !== undefined) throw field('after', 'not with latest');
    const limit = Math.min(
      q.limit === undefined ? DEFAULT_PAGE : sizeParam('limit', q.limit as string, 1),
      hooks.maxPage,
    );
    const after = q.after === undefined ? -1 : sizeParam('after', q.after as string);
    const caller = hooks.caller(req);
    const held = log.held(origin);
    // A witness token sees only what it pushed; it is not told whether another token's origin exists.
    const allowed =
      held !== undefined &&
      (caller.scopes.includes('read') || caller.scopes.includes('read:content') || held.by === caller.name);
    if (!allowed)
      throw new AuditError('NOT_FOUND', 'no checkpoint held for this origin', { field: 'origin' });
    let shown: WitnessRecord[];
    let count: number;
    let more = false;
    if (latest) {
      // From memory: a pusher asks for it on every push.
      const newest = log.newest(origin)!;
      shown = [newest.record];
      count = newest.count;
    } else {
      count = log.newest(origin)!.count;
      ({ records: shown, more } = log.page(origin, after, limit));
    }
    await hooks.recordRead(
      req,
      { origin, ...(latest ? { latest: true } : { limit, after: q.after ?? null }) },
      shown.length,
    );
    return {
      origin,
      verifierKey: held.verifierKey,
      count,
      checkpoints: shown.map((r) => ({
        size: r.size,
        root: r.root,
        note: r.note,
        receivedAt: r.receivedAt,
      })),
      nextAfter: more ? shown.at(-1)!.size : null,
    };
  });
}
