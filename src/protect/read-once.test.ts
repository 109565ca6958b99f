import { describe, expect, it } from 'vitest';
import { type AuditError, isAuditError } from '../errors.js';
import { type PreparedEvent, prepareEvent } from '../event/index.js';
import { fakeBody } from '../test-support/redaction.js';
import { createRedactor } from './index.js';

// An event input is the application's object: a getter or a Proxy in it may answer each read
// differently. Redaction and serialization must work on one read of each value, or a value that
// was clean when scanned is stored with a secret read later.

const GITHUB = ['gh', 'p_', fakeBody(36, 7)].join('');
const EMAIL = 'write to bob@example.com';
const SECRETS = ['bob@example.com', GITHUB];
const redact = createRedactor();

/** A getter that answers `first` on its first read and `then` on every later one; `reads` counts them. */
function flipping(first: unknown, then: unknown): { get: () => unknown; reads: () => number } {
  let n = 0;
  return { get: () => (n++ === 0 ? first : then), reads: () => n };
}

/** `o` with an enumerable getter `key` answering `first`, then `then`. */
function withGetter<T extends object>(o: T, key: string | number, first: unknown, then: unknown) {
  const g = flipping(first, then);
  Object.defineProperty(o, key, { get: g.get, enumerable: true, configurable: true });
  return { o, reads: g.reads };
}

/** Everything stored for the event: its line and its content payloads. */
function stored(p: PreparedEvent): string {
  return p.eventJson + p.content.map(([name, json]) => `\n${name}=${json}`).join('');
}

function errorOf(f: () => unknown): AuditError {
  try {
    f();
  } catch (err) {
    if (isAuditError(err)) return err;
    throw err;
  }
  throw new Error('expected an AuditError');
}

describe('prepareEvent with the redactor', () => {
  describe('when a getter answers a clean value first and a secret on the next read', () => {
    const cases: Array<[where: string, make: (secret: string) => { event: unknown; reads: () => number }]> = [
      [
        'content.prompt',
        (secret) => {
          const { o, reads } = withGetter({}, 'prompt', 'hello there', secret);
          return { event: { type: 'model.completion', content: o }, reads };
        },
      ],
      [
        'content.response',
        (secret) => {
          const { o, reads } = withGetter({ prompt: 'hi' }, 'response', 'fine, thanks', secret);
          return { event: { type: 'model.completion', content: o }, reads };
        },
      ],
      [
        'meta',
        (secret) => {
          const { o, reads } = withGetter({ app: 'assistant' }, 'note', 'nothing here', secret);
          return { event: { type: 'model.completion', meta: o }, reads };
        },
      ],
      [
        'an item of a nested array',
        (secret) => {
          const { o, reads } = withGetter(['ok', 'also ok'], 1, 'still ok', secret);
          return { event: { type: 'tool.call', content: { toolArgs: { lists: [['x'], o] } } }, reads };
        },
      ],
      [
        'an object in an array',
        (secret) => {
          const { o, reads } = withGetter({ title: 'doc' }, 'text', 'plain words', secret);
          return { event: { type: 'rag.query', content: { documents: [o] } }, reads };
        },
      ],
      [
        'the event itself',
        (secret) => {
          const { o, reads } = withGetter({ type: 'x.note' }, 'requestId', 'req-1', `id ${secret}`);
          return { event: o, reads };
        },
      ],
    ];

    for (const [where, make] of cases) {
      for (const secret of [EMAIL, `token ${GITHUB}`]) {
        it(`stores no secret from ${where} (${secret.split(' ')[0]}), and reads the getter once`, () => {
          const { event, reads } = make(secret);
          const p = prepareEvent(event, { redact });
          for (const s of SECRETS) expect(stored(p)).not.toContain(s);
          expect(reads()).toBe(1);
        });
      }
    }

    it('stores no secret from a key read before the first value that was redacted', () => {
      // the redactor copies an object at its first change: the keys before it must not be read again
      const { o } = withGetter({}, 'a', 'clean', EMAIL);
      (o as Record<string, unknown>).b = 'carol@example.org';
      const p = prepareEvent({ type: 'x.note', meta: o }, { redact });
      expect(stored(p)).not.toContain('bob@example.com');
      expect(JSON.parse(p.eventJson).meta).toEqual({ a: 'clean', b: '[EMAIL]' });
    });
  });

  describe('when a getter answers a secret first and a clean value next', () => {
    it('stores what the findings describe: the redacted first read', () => {
      const { o, reads } = withGetter({}, 'note', EMAIL, 'clean');
      const p = prepareEvent({ type: 'x.note', meta: o }, { redact });
      const ev = JSON.parse(p.eventJson);
      expect(ev.meta).toEqual({ note: 'write to [EMAIL]' });
      expect(ev.redactions).toEqual([{ count: 1, kind: 'email', path: 'meta.note' }]);
      expect(reads()).toBe(1);
    });
  });

  describe('when the event holds a Proxy', () => {
    it('stores what one read of each property gave', () => {
      let reads = 0;
      const content = new Proxy(
        { prompt: 'x' },
        {
          get: (t, k) => {
            if (k !== 'prompt') return Reflect.get(t, k);
            reads++;
            return reads === 1 ? 'hello' : EMAIL;
          },
        },
      );
      const p = prepareEvent({ type: 'model.completion', content }, { redact });
      expect(stored(p)).not.toContain('bob@example.com');
      expect(p.content).toEqual([['prompt', '"hello"']]);
      expect(reads).toBe(1);
    });

    it('rejects a proxy that is not plain data when the redactor looks, even if it says so later', () => {
      let asked = 0;
      const meta = new Proxy(
        { note: EMAIL },
        { getPrototypeOf: () => (asked++ === 0 ? Date.prototype : Object.prototype) },
      );
      const err = errorOf(() => prepareEvent({ type: 'x.note', meta }, { redact }));
      expect(err.code).toBe('EVENT_INVALID');
      expect(err.detail?.field).toBe('meta');
    });
  });

  describe('when a getter or a proxy trap throws', () => {
    const throwing = () => {
      throw new Error(`the value was ${EMAIL}`);
    };
    const cases: Array<[field: string, event: () => unknown]> = [
      [
        'meta.note',
        () => ({
          type: 'x.note',
          meta: Object.defineProperty({}, 'note', { get: throwing, enumerable: true }),
        }),
      ],
      [
        'content.toolArgs.to[1]',
        () => ({
          type: 'tool.call',
          content: { toolArgs: { to: Object.defineProperty(['a'], 1, { get: throwing, enumerable: true }) } },
        }),
      ],
      [
        'content.prompt',
        () => ({ type: 'model.completion', content: new Proxy({ prompt: 'x' }, { get: throwing }) }),
      ],
      ['actor', () => ({ type: 'x.note', actor: new Proxy({ id: 'u' }, { ownKeys: throwing }) })],
      [
        'content.toolArgs',
        () => {
          const { proxy, revoke } = Proxy.revocable({}, {});
          revoke();
          return { type: 'tool.call', content: { toolArgs: proxy } };
        },
      ],
      [
        'requestId',
        () => Object.defineProperty({ type: 'x.note' }, 'requestId', { get: throwing, enumerable: true }),
      ],
    ];
    for (const [field, event] of cases) {
      for (const mode of ['with', 'without'] as const) {
        it(`fails with EVENT_INVALID naming ${field}, ${mode} redaction, and never quotes the error`, () => {
          const err = errorOf(() => prepareEvent(event(), mode === 'with' ? { redact } : {}));
          expect(err.code).toBe('EVENT_INVALID');
          expect(err.detail?.field).toBe(field);
          expect(err.message.startsWith(`${field}: `)).toBe(true);
          expect(err.message).not.toContain('bob@example.com');
        });
      }
    }

    it('fails with EVENT_INVALID naming ts for a proxy of a date', () => {
      for (const options of [{ redact }, {}]) {
        const err = errorOf(() => prepareEvent({ type: 'x.note', ts: new Proxy(new Date(), {}) }, options));
        expect(err.code).toBe('EVENT_INVALID');
        expect(err.detail?.field).toBe('ts');
      }
    });
  });

  describe("with a redactor of the application's own", () => {
    /** Replaces every string holding an `@`, the way a simple redactor of one's own would. */
    const mine = (v: unknown) => {
      const walk = (x: unknown): unknown =>
        typeof x === 'string'
          ? x.includes('@')
            ? '[AT]'
            : x
          : Array.isArray(x)
            ? x.map(walk)
            : typeof x === 'object' && x !== null
              ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]))
              : x;
      // hands back the value it was given when it found nothing, as createRedactor's does
      const out = walk(v);
      return { value: JSON.stringify(out) === JSON.stringify(v) ? v : out, findings: [] };
    };

    it('gives it a copy read once, so that nothing unscanned is stored', () => {
      const { o, reads } = withGetter({}, 'note', 'nothing here', EMAIL);
      const p = prepareEvent({ type: 'x.note', meta: o }, { redact: mine });
      expect(JSON.parse(p.eventJson).meta).toEqual({ note: 'nothing here' });
      expect(reads()).toBe(1);
    });

    it('fails with EVENT_INVALID naming the field for a throwing getter or a cycle', () => {
      const throwing = Object.defineProperty({}, 'prompt', {
        get: () => {
          throw new Error(EMAIL);
        },
        enumerable: true,
      });
      const err = errorOf(() => prepareEvent({ type: 'x.note', content: throwing }, { redact: mine }));
      expect([err.code, err.detail?.field]).toEqual(['EVENT_INVALID', 'content.prompt']);
      expect(err.message).not.toContain('bob@example.com');
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const loop = errorOf(() =>
        prepareEvent({ type: 'x.note', content: { toolArgs: cyclic } }, { redact: mine }),
      );
      expect([loop.code, loop.detail?.field]).toEqual(['EVENT_INVALID', 'content.toolArgs.self']);
    });
  });

  describe('without redaction', () => {
    it('reads each getter once', () => {
      const meta = withGetter({}, 'note', 'one', 'two');
      const items = withGetter(['a', 'b'], 0, 'one', 'two');
      const prompt = withGetter({ toolArgs: items.o }, 'prompt', 'one', 'two');
      const p = prepareEvent({ type: 'model.completion', meta: meta.o, content: prompt.o });
      expect(JSON.parse(p.eventJson).meta).toEqual({ note: 'one' });
      expect(p.content).toEqual([
        ['prompt', '"one"'],
        ['toolArgs', '["one","b"]'],
      ]);
      expect([meta.reads(), prompt.reads(), items.reads()]).toEqual([1, 1, 1]);
    });
  });
});
