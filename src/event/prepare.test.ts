import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuditError, isAuditError } from '../errors.js';
import { sampleEvent } from '../test-support/fixtures.js';
import { canonicalJson } from './canonical.js';
import {
  DEFAULT_MAX_STRING_BYTES,
  MAX_EVENT_CHARS,
  type PreparedEvent,
  prepareEvent,
  TRUNCATION_MARKER,
} from './prepare.js';

const UUID7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Every code point a committed line must not hold raw. */
const RAW_FORBIDDEN =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** A payload an attacker would send: escape sequences, CR, NUL, bidi override, lone surrogate, U+2028. */
const HOSTILE =
  'ok\u001b[2J\u001b]0;pwned\u0007\r\nFAKE LINE\u0000\u202eexe.txt\ud800\u2028\u200b\ufeff\u0085end';
const SECRET = 'sk-live-SECRET-4f9a';

function eventOf(p: PreparedEvent): Record<string, unknown> {
  return JSON.parse(p.eventJson) as Record<string, unknown>;
}

function errorOf(f: () => unknown): AuditError {
  try {
    f();
  } catch (err) {
    if (err instanceof AuditError) return err;
    throw err;
  }
  throw new Error('expected an AuditError');
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function nested(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('prepareEvent', () => {
  describe('on a complete AI event', () => {
    const input = {
      type: 'model.completion',
      ts: '2025-03-04T05:06:07.089+02:00',
      actor: {
        id: 'user-42',
        type: 'user',
        sessionId: 'sess-1',
        ip: '203.0.113.7',
        userAgent: 'ua/1',
        authMethod: 'oidc',
      },
      conversation: { id: 'conv-1', turn: 3 },
      requestId: 'req-1',
      traceId: 'trace-1',
      resource: { type: 'tool', id: 'get_weather', parentId: 'agent-1', version: 2, beta: true, owner: null },
      action: 'complete',
      outcome: 'success',
      model: { provider: 'openai', name: 'gpt-4o' },
      usage: { inputTokens: 312, outputTokens: 128, totalTokens: 440 },
      latencyMs: 842.5,
      content: { response: 'Sunny.', prompt: 'Weather?', toolArgs: { city: 'Oslo', days: [1, 2] } },
      guardrails: [
        { name: 'pii', decision: 'allow', reason: 'none found', confidence: 0.98, rule: 'pii.v1' },
      ],
      meta: { app: 'assistant', retries: 0, cached: false, note: null },
    } as const;
    const p = prepareEvent(input);
    const ev = eventOf(p);

    it('assigns a UUIDv7 id and writes it into the event', () => {
      expect(p.id).toMatch(UUID7_RE);
      expect(ev.id).toBe(p.id);
    });

    it('normalizes ts to ISO 8601 UTC with milliseconds', () => {
      expect(p.ts).toBe('2025-03-04T03:06:07.089Z');
      expect(p.tsMs).toBe(Date.parse('2025-03-04T03:06:07.089Z'));
      expect(ev.ts).toBe(p.ts);
    });

    it('fills category and severity from the catalogue', () => {
      expect([p.type, p.category, p.severity, p.critical]).toEqual(['model.completion', 'ai', 'info', false]);
      expect([ev.type, ev.category, ev.severity]).toEqual(['model.completion', 'ai', 'info']);
    });

    it('keeps every validated field', () => {
      for (const key of [
        'actor',
        'conversation',
        'requestId',
        'traceId',
        'resource',
        'action',
        'outcome',
        'model',
        'usage',
        'latencyMs',
        'guardrails',
        'meta',
      ] as const) {
        expect(ev[key], key).toEqual(input[key]);
      }
    });

    it('defaults subject to actor.id', () => {
      expect(ev.subject).toBe('user-42');
    });

    it('leaves content out of the event and returns it sorted by name', () => {
      expect(ev).not.toHaveProperty('content');
      expect(p.content.map(([name]) => name)).toEqual(['prompt', 'response', 'toolArgs']);
      expect(p.content[2]).toEqual(['toolArgs', '{"city":"Oslo","days":[1,2]}']);
    });

    it('writes the event in canonical form', () => {
      expect(canonicalJson(ev)).toBe(p.eventJson);
    });

    it('adds neither flagged nor truncated when nothing needed it', () => {
      expect(ev).not.toHaveProperty('flagged');
      expect(ev).not.toHaveProperty('truncated');
    });
  });

  describe('when a field is invalid', () => {
    // [what, input, field named, text the message must not contain]
    const cases: Array<[string, unknown, string, string]> = [
      ['the input is null', null, 'event', 'null'],
      ['the input is an array', [SECRET], 'event', SECRET],
      ['the input is a string', SECRET, 'event', SECRET],
      [
        'the input is a class instance',
        new (class {
          type = 'auth.success';
          secret = SECRET;
        })(),
        'event',
        SECRET,
      ],
      ['type is missing', { actor: { id: SECRET } }, 'type', SECRET],
      ['type is a number', { type: 31337 }, 'type', '31337'],
      ['type is not in the catalogue', { type: SECRET }, 'type', SECRET],
      ['type is x. with an upper-case name', { type: `x.${SECRET}` }, 'type', SECRET],
      ['type is x. with an empty name', { type: 'x.' }, 'type', '"x."'],
      ['type is x. with a 101-character name', { type: `x.${'s'.repeat(101)}` }, 'type', 's'.repeat(101)],
      ['ts is not a date', { type: 'auth.success', ts: `yesterday ${SECRET}` }, 'ts', SECRET],
      ['ts is February 30th', { type: 'auth.success', ts: '2024-02-30T00:00:00Z' }, 'ts', '2024-02-30'],
      [
        'ts has a time but no zone',
        { type: 'auth.success', ts: '2024-01-01T10:00:00' },
        'ts',
        '2024-01-01T10',
      ],
      ['ts has hour 24', { type: 'auth.success', ts: '2024-01-01T24:00:00Z' }, 'ts', '2024-01-01T24'],
      ['ts is NaN', { type: 'auth.success', ts: Number.NaN }, 'ts', 'NaN'],
      ['ts is an invalid Date', { type: 'auth.success', ts: new Date(Number.NaN) }, 'ts', 'Invalid'],
      ['ts is past year 9999', { type: 'auth.success', ts: 1e15 }, 'ts', '1000000000000000'],
      ['ts is an object', { type: 'auth.success', ts: { at: SECRET } }, 'ts', SECRET],
      ['actor is a string', { type: 'auth.success', actor: SECRET }, 'actor', SECRET],
      ['actor.id is a number', { type: 'auth.success', actor: { id: 987654 } }, 'actor.id', '987654'],
      ['actor.ip is a number', { type: 'auth.success', actor: { ip: 2130706433 } }, 'actor.ip', '2130706433'],
      [
        'actor.userAgent is an array',
        { type: 'auth.success', actor: { userAgent: [SECRET] } },
        'actor.userAgent',
        SECRET,
      ],
      [
        'actor has an unknown field',
        { type: 'auth.success', actor: { password: SECRET } },
        'actor.password',
        SECRET,
      ],
      ['subject is a number', { type: 'auth.success', subject: 424242 }, 'subject', '424242'],
      [
        'conversation has no id',
        { type: 'agent.step', conversation: { turn: 1 } },
        'conversation.id',
        'turn',
      ],
      [
        'conversation.turn is negative',
        { type: 'agent.step', conversation: { id: 'c', turn: -7 } },
        'conversation.turn',
        '-7',
      ],
      [
        'conversation.turn is fractional',
        { type: 'agent.step', conversation: { id: 'c', turn: 1.25 } },
        'conversation.turn',
        '1.25',
      ],
      ['requestId is an object', { type: 'auth.success', requestId: { id: SECRET } }, 'requestId', SECRET],
      ['traceId is a boolean', { type: 'auth.success', traceId: true }, 'traceId', 'true'],
      ['resource has no type', { type: 'data.access', resource: { id: SECRET } }, 'resource.type', SECRET],
      ['resource has no id', { type: 'data.access', resource: { type: 'file' } }, 'resource.id', 'file'],
      [
        'a resource extra is an object',
        { type: 'data.access', resource: { type: 't', id: 'i', tags: { a: SECRET } } },
        'resource.tags',
        SECRET,
      ],
      [
        'a resource extra is Infinity',
        { type: 'data.access', resource: { type: 't', id: 'i', size: Number.POSITIVE_INFINITY } },
        'resource.size',
        'Infinity',
      ],
      ['action is a number', { type: 'data.access', action: 555 }, 'action', '555'],
      ['outcome is not one of the list', { type: 'auth.success', outcome: SECRET }, 'outcome', SECRET],
      ['model.name is a number', { type: 'model.request', model: { name: 4242 } }, 'model.name', '4242'],
      [
        'model has an unknown field',
        { type: 'model.request', model: { version: SECRET } },
        'model.version',
        SECRET,
      ],
      [
        'usage.inputTokens is negative',
        { type: 'model.completion', usage: { inputTokens: -12 } },
        'usage.inputTokens',
        '-12',
      ],
      [
        'usage.outputTokens is fractional',
        { type: 'model.completion', usage: { outputTokens: 1.5 } },
        'usage.outputTokens',
        '1.5',
      ],
      [
        'usage.totalTokens is a string',
        { type: 'model.completion', usage: { totalTokens: '440' } },
        'usage.totalTokens',
        '440',
      ],
      ['usage has an unknown field', { type: 'model.completion', usage: { cost: 3 } }, 'usage.cost', '3'],
      ['latencyMs is negative', { type: 'model.completion', latencyMs: -5 }, 'latencyMs', '-5'],
      ['latencyMs is NaN', { type: 'model.completion', latencyMs: Number.NaN }, 'latencyMs', 'NaN'],
      ['content is a string', { type: 'model.completion', content: SECRET }, 'content', SECRET],
      [
        'a content name has a space',
        { type: 'model.completion', content: { 'bad name': SECRET } },
        'content["bad name"]',
        SECRET,
      ],
      [
        'a content name starts with a digit',
        { type: 'model.completion', content: { '1st': SECRET } },
        'content["1st"]',
        SECRET,
      ],
      [
        'a content name has a newline',
        { type: 'model.completion', content: { 'a\nb': SECRET } },
        'content["a\\nb"]',
        SECRET,
      ],
      [
        'a content value is a function',
        { type: 'tool.call', content: { toolArgs: () => SECRET } },
        'content.toolArgs',
        SECRET,
      ],
      [
        'a nested content value is a bigint',
        { type: 'tool.call', content: { toolArgs: { items: [1, 2, 3, 4n] } } },
        'content.toolArgs.items[3]',
        '4',
      ],
      [
        'a nested content value is a Date',
        { type: 'tool.call', content: { toolArgs: { when: new Date(0) } } },
        'content.toolArgs.when',
        '1970',
      ],
      [
        'a nested content value is NaN',
        { type: 'tool.call', content: { toolResult: { score: Number.NaN } } },
        'content.toolResult.score',
        'NaN',
      ],
      [
        'a content array has a hole',
        { type: 'rag.query', content: { documents: ['a', undefined] } },
        'content.documents[1]',
        'undefined',
      ],
      [
        'a content value is a symbol',
        { type: 'tool.call', content: { toolResult: Symbol(SECRET) } },
        'content.toolResult',
        SECRET,
      ],
      [
        'a content key is not an identifier',
        { type: 'tool.call', content: { toolArgs: { 'a.b': [Number.NaN] } } },
        'content.toolArgs["a.b"][0]',
        'NaN',
      ],
      [
        'content nests deeper than 64 levels',
        { type: 'tool.call', content: { toolArgs: nested(65) } },
        `content.toolArgs${'[0]'.repeat(64)}`,
        'leaf',
      ],
      [
        'guardrails is an object',
        { type: 'guardrail.decision', guardrails: { name: SECRET } },
        'guardrails',
        SECRET,
      ],
      [
        'a guardrail is a string',
        { type: 'guardrail.decision', guardrails: [SECRET] },
        'guardrails[0]',
        SECRET,
      ],
      [
        'a guardrail has no name',
        { type: 'guardrail.decision', guardrails: [{ decision: 'block' }] },
        'guardrails[0].name',
        'block',
      ],
      [
        'a guardrail has no decision',
        { type: 'guardrail.decision', guardrails: [{ name: 'n' }] },
        'guardrails[0].decision',
        'xx',
      ],
      [
        'a guardrail decision is not one of the list',
        { type: 'guardrail.decision', guardrails: [{ name: 'n', decision: SECRET }] },
        'guardrails[0].decision',
        SECRET,
      ],
      [
        'a guardrail confidence is above 1',
        {
          type: 'guardrail.decision',
          guardrails: [
            { name: 'n', decision: 'warn' },
            { name: 'm', decision: 'warn', confidence: 1.75 },
          ],
        },
        'guardrails[1].confidence',
        '1.75',
      ],
      [
        'a guardrail confidence is NaN',
        { type: 'guardrail.decision', guardrails: [{ name: 'n', decision: 'warn', confidence: Number.NaN }] },
        'guardrails[0].confidence',
        'NaN',
      ],
      [
        'a guardrail has an unknown field',
        { type: 'guardrail.decision', guardrails: [{ name: 'n', decision: 'warn', score: 3 }] },
        'guardrails[0].score',
        '3',
      ],
      ['severity is not one of the list', { type: 'auth.success', severity: SECRET }, 'severity', SECRET],
      ['meta is an array', { type: 'auth.success', meta: [SECRET] }, 'meta', SECRET],
      [
        'a meta value is an object',
        { type: 'auth.success', meta: { nested: { a: SECRET } } },
        'meta.nested',
        SECRET,
      ],
      ['a meta value is an array', { type: 'auth.success', meta: { list: [SECRET] } }, 'meta.list', SECRET],
      [
        'a meta value is Infinity',
        { type: 'auth.success', meta: { n: Number.NEGATIVE_INFINITY } },
        'meta.n',
        'Infinity',
      ],
      [
        'a meta value under an odd key is invalid',
        { type: 'auth.success', meta: { 'odd key': [1] } },
        'meta["odd key"]',
        '[1]',
      ],
      ['the input carries an id', { type: 'auth.success', id: SECRET }, 'id', SECRET],
      [
        'the input carries a category',
        { type: 'auth.success', category: 'security' },
        'category',
        'security',
      ],
      ['the input carries flagged', { type: 'auth.success', flagged: [] }, 'flagged', '[]'],
      ['the input has an unknown field', { type: 'auth.success', password: SECRET }, 'password', SECRET],
    ];
    for (const [what, input, field, leak] of cases) {
      it(`fails with EVENT_INVALID naming ${field} when ${what}`, () => {
        const err = errorOf(() => prepareEvent(input));
        expect(err.code).toBe('EVENT_INVALID');
        expect(err.detail.field).toBe(field);
        expect(err.message.startsWith(`${field}: `)).toBe(true);
        expect(err.message).not.toContain(leak);
      });
    }

    it('names a circular reference in content by its path', () => {
      const args: Record<string, unknown> = { a: [1] };
      (args.a as unknown[]).push(args);
      const err = errorOf(() => prepareEvent({ type: 'tool.call', content: { toolArgs: args } }));
      expect(err.detail.field).toBe('content.toolArgs.a[1]');
      expect(err.message).toContain('circular');
    });

    it('fails with CONFIG_INVALID when maxStringBytes is not a positive integer', () => {
      for (const maxStringBytes of [0, -1, 1.5, Number.NaN]) {
        expect(
          isAuditError(
            errorOf(() => prepareEvent({ type: 'auth.success' }, { maxStringBytes })),
            'CONFIG_INVALID',
          ),
        ).toBe(true);
      }
    });
  });

  describe('when a value is valid but unusual', () => {
    it('treats a property set to undefined as absent', () => {
      const p = prepareEvent({
        type: 'auth.success',
        requestId: undefined,
        actor: { id: undefined },
        content: { prompt: undefined },
      });
      expect(eventOf(p)).not.toHaveProperty('requestId');
      expect(eventOf(p).actor).toEqual({});
      expect(p.content).toEqual([]);
    });

    it('returns no content for an empty content object or none at all', () => {
      expect(prepareEvent({ type: 'model.request', content: {} }).content).toEqual([]);
      expect(prepareEvent({ type: 'model.request' }).content).toEqual([]);
    });

    it('accepts content nested exactly 64 levels deep', () => {
      const p = prepareEvent({ type: 'tool.call', content: { toolArgs: nested(64) } });
      expect(JSON.parse(p.content[0]![1])).toEqual(nested(64));
    });

    it('accepts the same object twice in content when it is not a cycle', () => {
      const shared = { k: 'v' };
      const p = prepareEvent({
        type: 'tool.call',
        content: { toolArgs: { a: shared, b: [shared, shared] } },
      });
      expect(p.content[0]![1]).toBe('{"a":{"k":"v"},"b":[{"k":"v"},{"k":"v"}]}');
    });

    it('accepts objects without a prototype', () => {
      const input = Object.assign(Object.create(null) as Record<string, unknown>, {
        type: 'auth.success',
        meta: { a: 1 },
      });
      expect(eventOf(prepareEvent(input)).meta).toEqual({ a: 1 });
    });

    it('ignores non-enumerable properties', () => {
      const input = { type: 'auth.success' };
      Object.defineProperty(input, 'bogus', { value: SECRET, enumerable: false });
      expect(eventOf(prepareEvent(input))).not.toHaveProperty('bogus');
    });

    it('keeps a __proto__ key in meta as data without touching any prototype', () => {
      const input = JSON.parse('{"type":"auth.success","meta":{"__proto__":"x","a":1}}') as unknown;
      const p = prepareEvent(input);
      expect(p.eventJson).toContain('"meta":{"__proto__":"x","a":1}');
      expect(({} as Record<string, unknown>).a).toBeUndefined();
    });

    it('never mutates its input', () => {
      const input = deepFreeze({
        ...sampleEvent(1),
        actor: { id: 'a'.repeat(40) },
        content: { prompt: 'p'.repeat(40), toolArgs: { list: ['q'.repeat(40)] } },
      });
      const before = structuredClone(input);
      prepareEvent(input, { maxStringBytes: 16 });
      expect(input).toEqual(before);
    });
  });

  describe('when reading ts', () => {
    const cases: Array<[string, unknown, string]> = [
      ['a Date', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), '2024-01-02T03:04:05.006Z'],
      ['epoch milliseconds', 1704164645006, '2024-01-02T03:04:05.006Z'],
      ['fractional epoch milliseconds', 1704164645006.9, '2024-01-02T03:04:05.006Z'],
      ['an ISO string in UTC', '2024-01-02T03:04:05.006Z', '2024-01-02T03:04:05.006Z'],
      ['an ISO string with an offset', '2024-01-02T05:34:05+02:30', '2024-01-02T03:04:05.000Z'],
      ['an ISO string with a negative offset', '2024-01-01T23:04:05.1-04:00', '2024-01-02T03:04:05.100Z'],
      ['an ISO string with microseconds', '2024-01-02T03:04:05.006999Z', '2024-01-02T03:04:05.006Z'],
      ['an ISO string without seconds', '2024-01-02T03:04Z', '2024-01-02T03:04:00.000Z'],
      ['a date alone (UTC midnight)', '2024-02-29', '2024-02-29T00:00:00.000Z'],
      ['a year before 100', '0042-06-01T00:00:00Z', '0042-06-01T00:00:00.000Z'],
    ];
    for (const [what, ts, iso] of cases) {
      it(`accepts ${what}`, () => {
        const p = prepareEvent({ type: 'auth.success', ts });
        expect(p.ts).toBe(iso);
        expect(p.tsMs).toBe(Date.parse(iso));
      });
    }

    it('uses the clock when ts is absent', () => {
      const now = Date.UTC(2030, 1, 3, 4, 5, 6, 7);
      const p = prepareEvent({ type: 'auth.success' }, { now: () => now });
      expect(p.ts).toBe('2030-02-03T04:05:06.007Z');
      expect(Number.parseInt(p.id.slice(0, 8) + p.id.slice(9, 13), 16)).toBeGreaterThanOrEqual(now);
    });
  });

  describe('when setting severity, subject and criticality', () => {
    it('takes the default severity from the catalogue and lets the input override it', () => {
      expect(prepareEvent({ type: 'auth.failure' }).severity).toBe('warning');
      expect(prepareEvent({ type: 'auth.failure', severity: 'notice' }).severity).toBe('notice');
      expect(eventOf(prepareEvent({ type: 'auth.failure', severity: 'notice' })).severity).toBe('notice');
    });

    it('marks catalogue-critical types and events of severity critical as critical', () => {
      for (const type of [
        'auth.failure',
        'authz.denied',
        'security.path_traversal',
        'security.invalid_token',
        'security.tamper_detected',
        'system.overflow',
      ]) {
        expect(prepareEvent({ type }).critical, type).toBe(true);
      }
      expect(prepareEvent({ type: 'model.completion' }).critical).toBe(false);
      expect(prepareEvent({ type: 'model.completion', severity: 'critical' }).critical).toBe(true);
      expect(prepareEvent({ type: 'x.billing.alarm', severity: 'critical' }).critical).toBe(true);
    });

    it('puts custom x. types in category custom', () => {
      const p = prepareEvent({ type: 'x.billing.invoice_sent' });
      expect([p.category, p.severity, p.critical]).toEqual(['custom', 'info', false]);
    });

    it('keeps an explicit subject over actor.id', () => {
      expect(
        eventOf(prepareEvent({ type: 'data.access', actor: { id: 'admin' }, subject: 'user-7' })).subject,
      ).toBe('user-7');
    });

    it('sets no subject when there is no actor.id', () => {
      expect(eventOf(prepareEvent({ type: 'data.access', actor: { type: 'service' } }))).not.toHaveProperty(
        'subject',
      );
    });
  });

  describe('when identifier fields hold hostile code points', () => {
    const input = {
      type: 'auth.failure',
      actor: {
        id: 'admin\u202egnp.exe',
        type: 'user\u001b',
        ip: '10.0.0.1',
        userAgent: 'curl\r\nX-Injected: 1',
      },
      requestId: 'req\u001b[2J',
      model: { name: 'gpt\ud800' },
      resource: { type: 'file', id: 'a\u200bb', label: 'x\u0000' },
      guardrails: [
        { name: 'ok', decision: 'allow', reason: 'reason\u2028text' },
        { name: 'inj\u0085', decision: 'block', rule: 'r\ufeff' },
      ],
      meta: { note: 'meta\u001b' },
    } as const;
    const p = prepareEvent(input);
    const ev = eventOf(p);

    it('lists their paths in flagged, sorted', () => {
      expect(ev.flagged).toEqual([
        'actor.id',
        'actor.userAgent',
        'guardrails[1].name',
        'guardrails[1].rule',
        'model.name',
        'requestId',
        'resource.id',
        'subject',
      ]);
    });

    it('keeps every value exactly', () => {
      expect(ev.actor).toEqual(input.actor);
      expect(ev.requestId).toBe(input.requestId);
      expect(ev.model).toEqual(input.model);
      expect(ev.resource).toEqual(input.resource);
      expect(ev.guardrails).toEqual(input.guardrails);
      expect(ev.meta).toEqual(input.meta);
      expect(ev.subject).toBe(input.actor.id);
    });

    it('writes none of them raw into the event JSON', () => {
      expect(RAW_FORBIDDEN.test(p.eventJson)).toBe(false);
    });
  });

  describe('when content holds a hostile payload', () => {
    const input = {
      type: 'model.completion',
      content: { prompt: HOSTILE, toolResult: { [HOSTILE]: [HOSTILE, { k: HOSTILE }] } },
      meta: { echo: HOSTILE },
    };
    const p = prepareEvent(input);

    it('keeps it exactly, never rejecting it', () => {
      expect(JSON.parse(p.content[0]![1])).toBe(HOSTILE);
      expect(JSON.parse(p.content[1]![1])).toEqual(input.content.toolResult);
      expect((eventOf(p).meta as Record<string, unknown>).echo).toBe(HOSTILE);
    });

    it('writes no raw control, bidi, zero-width or line-separator code point', () => {
      expect(RAW_FORBIDDEN.test(p.eventJson)).toBe(false);
      for (const [, valueJson] of p.content) expect(RAW_FORBIDDEN.test(valueJson)).toBe(false);
    });
  });

  describe('when a string is longer than maxStringBytes', () => {
    const long = 'é'.repeat(20); // 40 UTF-8 bytes
    const p = prepareEvent(
      {
        type: 'tool.result',
        actor: { id: 'short', userAgent: 'u'.repeat(17) },
        guardrails: [{ name: 'g', decision: 'warn', reason: 'r'.repeat(30) }],
        meta: { note: long, fits: 'x'.repeat(16) },
        content: { toolResult: { items: ['ok', { text: long }] }, prompt: long, emoji: `a${'😀'.repeat(5)}` },
      },
      { maxStringBytes: 16 },
    );
    const ev = eventOf(p);
    const content = Object.fromEntries(p.content.map(([n, v]) => [n, JSON.parse(v) as unknown]));

    it('keeps the longest prefix that fits, on a code point boundary, and appends the marker', () => {
      expect(content.prompt).toBe(`${'é'.repeat(8)}${TRUNCATION_MARKER}`);
      // 'a' + one emoji is 5 bytes; a second would make 9, a third 13, a fourth 17 > 16.
      expect(content.emoji).toBe(`a${'😀'.repeat(3)}${TRUNCATION_MARKER}`);
      expect((ev.actor as Record<string, string>).userAgent).toBe(`${'u'.repeat(16)}${TRUNCATION_MARKER}`);
    });

    it('leaves strings that fit alone', () => {
      expect((ev.meta as Record<string, string>).fits).toBe('x'.repeat(16));
      expect((ev.actor as Record<string, string>).id).toBe('short');
    });

    it('records path and original byte length for each, and outside content the SHA-256 of the original, sorted by path', () => {
      expect(ev.truncated).toEqual([
        { path: 'actor.userAgent', bytes: 17, sha256: sha256Hex('u'.repeat(17)) },
        // content: no digest of the original, which would outlive the payload's erasure
        { path: 'content.emoji', bytes: 21 },
        { path: 'content.prompt', bytes: 40 },
        { path: 'content.toolResult.items[1].text', bytes: 40 },
        { path: 'guardrails[0].reason', bytes: 30, sha256: sha256Hex('r'.repeat(30)) },
        { path: 'meta.note', bytes: 40, sha256: sha256Hex(long) },
      ]);
    });

    it('does not split a lone surrogate or count it as less than 3 bytes', () => {
      const q = prepareEvent(
        { type: 'model.request', content: { prompt: '\ud800\ud800' } },
        { maxStringBytes: 4 },
      );
      expect(JSON.parse(q.content[0]![1])).toBe(`\ud800${TRUNCATION_MARKER}`);
    });

    it('refuses an event longer than MAX_EVENT_CHARS with its content, and one past what V8 can hold, naming the event', () => {
      const mib = 'a'.repeat(2 ** 20);
      const options = { maxStringBytes: 2 ** 24 };
      // 300 MiB-long strings: over MAX_EVENT_CHARS (256 Mi) but a string V8 can build.
      const over = errorOf(() =>
        prepareEvent({ type: 'tool.result', content: { toolResult: Array(300).fill(mib) } }, options),
      );
      expect(over.code).toBe('EVENT_INVALID');
      expect(over.detail).toMatchObject({ field: 'event' });
      // 520: past V8's string limit (≈ 512 Mi) while serializing.
      const past = errorOf(() =>
        prepareEvent({ type: 'tool.result', content: { toolResult: Array(520).fill(mib) } }, options),
      );
      expect(past.code).toBe('EVENT_INVALID');
      expect(past.detail).toMatchObject({ field: 'event' });
      expect(MAX_EVENT_CHARS).toBe(2 ** 28);
      const fits = prepareEvent(
        { type: 'tool.result', content: { toolResult: Array(200).fill(mib) } },
        options,
      );
      expect(fits.content[0]![1].length).toBeGreaterThan(200 * 2 ** 20);
    });

    it('defaults the limit to 64 KiB', () => {
      expect(DEFAULT_MAX_STRING_BYTES).toBe(65536);
      const fits = prepareEvent({ type: 'model.request', content: { prompt: 'a'.repeat(65536) } });
      expect(JSON.parse(fits.content[0]![1])).toHaveLength(65536);
      const cut = prepareEvent({ type: 'model.request', content: { prompt: 'a'.repeat(65537) } });
      expect(JSON.parse(cut.content[0]![1])).toBe(`${'a'.repeat(65536)}${TRUNCATION_MARKER}`);
    });
  });

  describe('for arbitrary JSON content', () => {
    it('writes each value exactly as canonicalJson does', () => {
      fc.assert(
        fc.property(fc.jsonValue({ stringUnit: 'binary', maxDepth: 6 }), (value) => {
          const p = prepareEvent({ type: 'tool.result', content: { toolResult: value } });
          expect(p.content).toEqual([['toolResult', canonicalJson(value)]]);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('for arbitrary events', () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const key = fc.oneof(
      text,
      fc.constantFrom('0', '9', '10', '4294967295', '01', '-1', '__proto__', 'a', 'Z'),
    );
    const scalar = fc.oneof(
      text,
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
    );
    const event = fc.record(
      {
        type: fc.constantFrom('model.completion', 'auth.success', 'x.custom'),
        actor: fc.record(
          { userAgent: text, id: text, type: text, ip: text, sessionId: text, authMethod: text },
          { requiredKeys: [] },
        ),
        requestId: text,
        traceId: text,
        action: text,
        outcome: fc.constantFrom('success', 'failure', 'blocked'),
        resource: fc.dictionary(key, scalar).map((extra) => ({ ...extra, type: 'doc', id: 'd1' })),
        model: fc.record({ provider: text, name: text }, { requiredKeys: [] }),
        usage: fc.record({ totalTokens: fc.nat(), inputTokens: fc.nat() }, { requiredKeys: [] }),
        guardrails: fc.array(
          fc.record({ rule: text, reason: text, name: text, decision: fc.constantFrom('block', 'allow') }),
          { maxLength: 2 },
        ),
        meta: fc.dictionary(key, scalar),
      },
      { requiredKeys: ['type'] },
    );

    it('writes the event in canonical form, whatever the order and the keys of its input', () => {
      fc.assert(
        fc.property(event, (input) => {
          const p = prepareEvent(input);
          expect(canonicalJson(JSON.parse(p.eventJson))).toBe(p.eventJson);
          expect(RAW_FORBIDDEN.test(p.eventJson)).toBe(false);
          // Every value reads back as given (JSON's own round trip is the reference: -0 reads as 0).
          const ev = JSON.parse(p.eventJson);
          for (const part of [
            'actor',
            'requestId',
            'traceId',
            'action',
            'resource',
            'model',
            'usage',
            'meta',
          ] as const)
            expect(ev[part]).toEqual(
              input[part] === undefined ? undefined : JSON.parse(JSON.stringify(input[part])),
            );
          expect(ev.guardrails ?? []).toEqual(input.guardrails ?? []);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('reads each value once', () => {
    it('writes what a redactor hands back escaped, even when its getters answer differently each time', () => {
      let reads = 0;
      const finding = {
        path: 'content.prompt',
        kind: 'email',
        get count(): unknown {
          reads++;
          return reads === 1 ? 1 : { toString: () => '1,"x":"\u202e\n' };
        },
      };
      const p = prepareEvent(
        { type: 'model.request' },
        { redact: (v) => ({ value: v, findings: [finding as never] }) },
      );
      expect(reads).toBe(1);
      expect(RAW_FORBIDDEN.test(p.eventJson)).toBe(false);
      expect(eventOf(p).redactions).toEqual([{ count: 1, kind: 'email', path: 'content.prompt' }]);
    });

    it('requires resource.type and resource.id as own enumerable properties, read once', () => {
      const hidden = Object.defineProperty({ id: 'r' }, 'type', { value: 'doc' });
      expect(errorOf(() => prepareEvent({ type: 'data.deleted', resource: hidden })).detail).toMatchObject({
        field: 'resource.type',
      });
      let reads = 0;
      const once = {
        get type() {
          reads++;
          return reads === 1 ? 'doc' : undefined;
        },
        id: 'r',
      };
      const p = prepareEvent({ type: 'data.deleted', resource: once });
      expect(eventOf(p).resource).toEqual({ id: 'r', type: 'doc' });
    });
  });

  it('prepares the shared sample event', () => {
    const p = prepareEvent(sampleEvent(3));
    expect(eventOf(p).subject).toBe('user-3');
    expect(p.content.map(([n]) => n)).toEqual(['prompt', 'response']);
  });
});
