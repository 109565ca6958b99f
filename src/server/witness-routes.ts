/**
 * The collector as a witness of other trails: `POST /v1/witness/checkpoints` takes a signed
 * checkpoint `{verifierKey, note, proof}` and keeps it when it is consistent with the newest one
 * held for its origin (accept.ts: the key is pinned at first sight; a rollback or a fork is
 * refused with 409 WITNESS_CONFLICT), `GET /v1/witness/checkpoints?origin=O` lists what is held.
 * Both need a token with the `witness` scope. Nothing is cosigned: the witness keeps the trail's
 * own signed notes. Offers for one origin are decided one at a time. `latest=1` lists only the
 * newest checkpoint (what a pusher continues from), with the count held.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuditError } from '../errors.js';
import { decideOffered, WitnessLog } from '../witness/index.js';

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

/** Adds the witness routes to the collector `app` keeping its records under `dir`. */
export function registerWitnessRoutes(
  app: FastifyInstance,
  dir: string,
  callerName: (req: FastifyRequest) => string,
): void {
  const log = new WitnessLog(dir);
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

  app.get<{ Querystring: { origin?: string; latest?: string } }>(
    '/v1/witness/checkpoints',
    { config: { scope: 'witness' } },
    async (req) => {
      const origin = req.query.origin;
      if (typeof origin !== 'string' || origin === '')
        throw field('origin', 'expected the origin of a trail');
      const records = log.records(origin);
      if (records.length === 0)
        throw new AuditError('NOT_FOUND', 'no checkpoint held for this origin', { field: 'origin' });
      const shown = req.query.latest === '1' || req.query.latest === 'true' ? records.slice(-1) : records;
      return {
        origin,
        verifierKey: records[0]!.verifierKey,
        count: records.length,
        checkpoints: shown.map((r) => ({
          size: r.size,
          root: r.root,
          note: r.note,
          receivedAt: r.receivedAt,
        })),
      };
    },
  );
}
