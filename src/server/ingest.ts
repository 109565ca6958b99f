/**
 * Ingest batches: the body (a JSON array or JSON lines) turned into events, each stamped with the
 * producer's name from its token and prepared by the trail (validated and serialized once) before
 * any is written, so a batch is all or nothing. Pure logic; the route lives in collector.ts.
 */
import { AuditError, isAuditError } from '../errors.js';
import { inexactNumberMessage, inexactNumberPath } from '../event/exact-json.js';
import type { PreparedEvent } from '../event/index.js';
import { isRecord } from '../is-record.js';

/** A batch entry that failed: its index in the batch and the field path. */
export interface BatchProblem {
  index: number;
  field: string;
  message: string;
}

/**
 * Splits a JSON lines body into values; blank lines are skipped. A line that is not JSON is a
 * problem at its index (field `""`): the parser's message is not kept, since it quotes the input.
 */
export function parseJsonLines(text: string): unknown[] | BatchProblem {
  const out: unknown[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      return { index: out.length, field: '', message: `events[${out.length}]: not valid JSON` };
    }
    const problem = inexactIn(out.at(-1), out.length - 1);
    if (problem !== undefined) return problem;
  }
  return out;
}

/**
 * The first event of a JSON body (an array of events, or anything else as event 0) holding a
 * number that JSON.parse rounded (event/exact-json.ts), as a problem; undefined when there is none.
 */
export function inexactInBody(body: unknown): BatchProblem | undefined {
  if (!Array.isArray(body)) return inexactIn(body, 0);
  for (let i = 0; i < body.length; i++) {
    const problem = inexactIn(body[i], i);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function inexactIn(event: unknown, index: number): BatchProblem | undefined {
  const field = inexactNumberPath(event);
  if (field === undefined) return undefined;
  return { index, field, message: `events[${index}]: ${inexactNumberMessage(field)}` };
}

/**
 * Sets `meta.producer` to the token's name, whatever the body said (a producer cannot speak for
 * another). The event is a value freshly parsed from the request, so it is changed in place. A
 * `meta` that is not an object is left as it is, for validation to name it.
 */
export function stampProducer(event: unknown, producer: string): void {
  if (!isRecord(event)) return;
  const meta = event.meta;
  if (meta === undefined) event.meta = { producer };
  else if (isRecord(meta)) meta.producer = producer;
}

/**
 * Stamps and prepares every event of a batch with `prepare` (the trail's own `prepare`, so each
 * event is validated and serialized once); the first bad one is returned with its index and field
 * path (`events[3].actor.id`) and nothing of the batch is kept. A type the trail records about
 * itself is refused by `prepare` (field `type`).
 * @throws AuditError USAGE when the batch is not a list, is empty or holds more than `maxBatch`.
 */
export function prepareBatch(
  events: unknown,
  maxBatch: number,
  producer: string,
  prepare: (event: unknown) => PreparedEvent,
): PreparedEvent[] | BatchProblem {
  if (!Array.isArray(events)) {
    throw new AuditError('USAGE', 'events: expected a JSON array or JSON lines of events', {
      field: 'events',
    });
  }
  if (events.length === 0)
    throw new AuditError('USAGE', 'events: expected at least one event', { field: 'events' });
  if (events.length > maxBatch) {
    throw new AuditError('USAGE', `events: at most ${maxBatch} events per batch`, { field: 'events' });
  }
  const out: PreparedEvent[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    try {
      stampProducer(events[i], producer);
      out[i] = prepare(events[i]);
    } catch (err) {
      if (!isAuditError(err, 'EVENT_INVALID')) throw err;
      const field = typeof err.detail.field === 'string' ? err.detail.field : '';
      return { index: i, field, message: `events[${i}]: ${err.message}` };
    }
  }
  return out;
}
