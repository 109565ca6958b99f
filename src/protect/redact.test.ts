import { describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { type AuditEventInput, prepareEvent } from '../event/index.js';
import { fakeBody } from '../test-support/redaction.js';
import { createRedactor, type RedactorOptions } from './index.js';

const GITHUB = ['gh', 'p_', fakeBody(36, 21)].join('');

/** The value at a dotted path (`content.toolArgs.to`, `items.0`) of a redacted tree. */
function at(value: unknown, path: string): unknown {
  let v = value;
  for (const k of path.split('.')) v = (v as Record<string, unknown>)[k];
  return v;
}

function event(): AuditEventInput {
  return {
    type: 'tool.call',
    ts: '2024-05-01T10:00:00Z',
    actor: {
      id: 'alice@example.com',
      type: 'user',
      ip: '203.0.113.7',
      sessionId: 'sess-1',
      authMethod: 'password',
    },
    subject: 'alice@example.com',
    conversation: { id: 'conv-1', turn: 3 },
    requestId: 'req-4155552671',
    resource: { type: 'ticket', id: 'T-1', owner: 'bob@example.com', count: 3 },
    model: { provider: 'openai', name: 'gpt-4o' },
    usage: { inputTokens: 312, outputTokens: 128, totalTokens: 4_111_111 },
    outcome: 'success',
    content: {
      prompt: 'Email carol@example.org the invoice and call +44 20 7946 0958.',
      toolArgs: {
        to: ['dave@example.net', 'ok'],
        apiKey: 'abc',
        card: 4111111111111111,
        nested: { items: [{ note: 'IBAN DE89 3704 0044 0532 0130 00' }] },
        tokens: 52,
        flags: { hasPassword: true, password: null },
      },
      error: `upstream said: token=${GITHUB}`,
    },
    guardrails: [{ name: 'pii', decision: 'redact', reason: 'saw 123-45-6789', rule: 'ssn-1' }],
    meta: { region: 'eu-west-1', client_ip: '198.51.100.4', 'x-api-key': 'k-1' },
  };
}

describe('createRedactor', () => {
  const redact = createRedactor();

  describe('on an event input', () => {
    const input = event();
    const before = structuredClone(input);
    const { value, findings, failed } = redact(input);
    const out = value as AuditEventInput;

    it('redacts every string in content, meta, resource and guardrail reasons', () => {
      expect(at(out, 'content.prompt')).toBe('Email [EMAIL] the invoice and call [PHONE].');
      expect(at(out, 'content.toolArgs.to')).toEqual(['[EMAIL]', 'ok']);
      expect(at(out, 'content.toolArgs.nested.items.0.note')).toBe('IBAN [IBAN]');
      expect(at(out, 'content.error')).toBe('upstream said: token=[SECRET:github]');
      expect(out.resource).toEqual({ type: 'ticket', id: 'T-1', owner: '[EMAIL]', count: 3 });
      expect(out.guardrails![0]).toEqual({
        name: 'pii',
        decision: 'redact',
        reason: 'saw [SSN]',
        rule: 'ssn-1',
      });
      expect(out.meta).toEqual({ region: 'eu-west-1', client_ip: '[IP]', 'x-api-key': '[SECRET:key]' });
    });

    it('replaces values under sensitive keys whole, keeping flags and empty values', () => {
      expect(at(out, 'content.toolArgs.apiKey')).toBe('[SECRET:key]');
      expect(at(out, 'content.toolArgs.flags')).toEqual({ hasPassword: true, password: null });
      expect(at(out, 'content.toolArgs.tokens')).toBe(52);
    });

    it('replaces a card written as a JSON number, and leaves usage counts alone', () => {
      expect(at(out, 'content.toolArgs.card')).toBe('[CARD]');
      expect(out.usage).toEqual({ inputTokens: 312, outputTokens: 128, totalTokens: 4_111_111 });
    });

    it('keeps identifier fields as recorded: actor, subject, ids', () => {
      expect(out.actor).toBe(input.actor);
      expect(out.subject).toBe('alice@example.com');
      expect(out.requestId).toBe('req-4155552671');
    });

    it('records each redaction as {path, kind, count}, in traversal order, never the value', () => {
      expect(findings).toEqual([
        { path: 'resource.owner', kind: 'email', count: 1 },
        { path: 'content.prompt', kind: 'email', count: 1 },
        { path: 'content.prompt', kind: 'phone', count: 1 },
        { path: 'content.toolArgs.to[0]', kind: 'email', count: 1 },
        { path: 'content.toolArgs.apiKey', kind: 'secret:key', count: 1 },
        { path: 'content.toolArgs.card', kind: 'card', count: 1 },
        { path: 'content.toolArgs.nested.items[0].note', kind: 'iban', count: 1 },
        { path: 'content.error', kind: 'secret:github', count: 1 },
        { path: 'guardrails[0].reason', kind: 'ssn', count: 1 },
        { path: 'meta.client_ip', kind: 'ipv4', count: 1 },
        { path: 'meta["x-api-key"]', kind: 'secret:key', count: 1 },
      ]);
      const json = JSON.stringify(findings);
      for (const secret of ['carol@example.org', '7946', GITHUB, '6789', 'abc', 'k-1'])
        expect(json).not.toContain(secret);
      expect(failed).toBe(false);
    });

    it('never modifies its input, and shares what did not change', () => {
      expect(input).toEqual(before);
      expect(out).not.toBe(input);
      expect(out.conversation).toBe(input.conversation);
      expect(out.model).toBe(input.model);
      expect(at(out, 'content.toolArgs.flags')).toBe(at(input, 'content.toolArgs.flags'));
    });

    it('gives an event that prepareEvent accepts', () => {
      expect(() => prepareEvent(out)).not.toThrow();
    });
  });

  it('returns the very input when nothing is found', () => {
    const clean = { type: 'model.request', content: { prompt: 'hello there' }, meta: { a: 1 } } as const;
    const r = redact(clean);
    expect(r.value).toBe(clean);
    expect(r.findings).toEqual([]);
  });

  it('still finds secrets in identifier fields', () => {
    const r = redact({ type: 'x.login', actor: { id: `user ${GITHUB}` }, traceId: 'password=hunter2' });
    expect(r.value).toEqual({
      type: 'x.login',
      actor: { id: 'user [SECRET:github]' },
      traceId: 'password=[SECRET:pair]',
    });
    expect(r.findings.map((f) => f.path)).toEqual(['actor.id', 'traceId']);
  });

  it('renames an object key that holds personal data, keeping both entries', () => {
    const r = redact({
      type: 'x.k',
      meta: {},
      content: { byUser: { 'a@example.com': 1, 'b@example.com': 2 } },
    });
    expect(at(r.value, 'content.byUser')).toEqual({ '[EMAIL]': 1, '[EMAIL] #2': 2 });
    expect(r.findings).toEqual([
      { path: 'content.byUser["[EMAIL]"]', kind: 'email', count: 1 },
      { path: 'content.byUser["[EMAIL] #2"]', kind: 'email', count: 1 },
    ]);
  });

  it('keeps a model output token beside its logprob', () => {
    const lp = { token: 'Hello', logprob: -0.31 };
    expect(redact(lp, 'content').value).toBe(lp);
    expect(redact({ token: 'abc' }, 'content').value).toEqual({ token: '[SECRET:key]' });
  });

  it('replaces a whole object under a sensitive key', () => {
    const r = redact({ credentials: { user: 'u', pass: 'p' } }, 'meta');
    expect(r.value).toEqual({ credentials: '[SECRET:key]' });
  });

  it('handles __proto__ keys as data', () => {
    const input = JSON.parse('{"__proto__": {"email": "a@example.com"}, "x": 1}');
    const r = redact(input, 'content');
    const out = r.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ email: '[EMAIL]' });
  });

  it('passes Dates and other non-plain objects through', () => {
    const ts = new Date(0);
    const r = redact({ type: 'x.d', ts, content: { when: ts } });
    expect(at(r.value, 'ts')).toBe(ts);
    expect(at(r.value, 'content.when')).toBe(ts);
  });

  it('fails closed on nesting deeper than it walks, and on cycles', () => {
    let deep: unknown = 'a@example.com';
    for (let i = 0; i < 150; i++) deep = [deep];
    const r = redact({ type: 'x.deep', content: { deep } });
    expect(r.failed).toBe(true);
    expect(JSON.stringify(r.value)).toContain('[REDACTION_FAILED]');
    expect(JSON.stringify(r.value)).not.toContain('a@example.com');
    const cyclic: Record<string, unknown> = { note: 'x' };
    cyclic.self = cyclic;
    const c = redact({ type: 'x.cycle', content: { cyclic } });
    expect(c.failed).toBe(true);
    expect(c.findings.some((f) => f.kind === 'redaction-failed')).toBe(true);
  });

  describe('options', () => {
    it('turns a detector off everywhere', () => {
      const r = createRedactor({ detectors: { ipv4: false } });
      expect(r('from 203.0.113.7 mail a@example.com').value).toBe('from 203.0.113.7 mail [EMAIL]');
    });

    it('sets the policy of a field class', () => {
      const all = createRedactor({ classes: { identifiers: 'all', content: 'off' } });
      const r = all({
        type: 'x.a',
        actor: { id: 'a@example.com', ip: '203.0.113.7' },
        content: { p: 'b@example.com' },
      });
      expect(r.value).toEqual({
        type: 'x.a',
        actor: { id: '[EMAIL]', ip: '[IP]' },
        content: { p: 'b@example.com' },
      });
      const some = createRedactor({ classes: { meta: ['email'] } });
      expect(some({ type: 'x.a', meta: { a: 'a@example.com 203.0.113.7' } }).value).toEqual({
        type: 'x.a',
        meta: { a: '[EMAIL] 203.0.113.7' },
      });
    });

    it('adds sensitive names', () => {
      const r = createRedactor({ sensitiveNames: ['dob'] });
      expect(r({ patient_dob: '1970-01-01', doberman: 'rex' }, 'meta').value).toEqual({
        patient_dob: '[SECRET:key]',
        doberman: 'rex',
      });
    });

    it('runs custom detectors from a pattern or a function, with their own markers', () => {
      const r = createRedactor({
        custom: [
          { name: 'employee-id', pattern: /\bEMP-\d{6}\b/ },
          {
            name: 'codeword',
            find: (t) => (t.includes('bluebird') ? [[t.indexOf('bluebird'), t.indexOf('bluebird') + 8]] : []),
            marker: '[CODEWORD]',
          },
          { name: 'empty', pattern: /x*/ },
        ],
      });
      const out = r('EMP-123456 and EMP-654321 said bluebird');
      expect(out.value).toBe('[EMPLOYEE-ID] and [EMPLOYEE-ID] said [CODEWORD]');
      expect(out.findings).toEqual([
        { path: '', kind: 'employee-id', count: 2 },
        { path: '', kind: 'codeword', count: 1 },
      ]);
    });

    it('runs a custom secret: detector on identifiers too', () => {
      const r = createRedactor({ custom: [{ name: 'secret:internal', pattern: /INT-[0-9a-f]{8}/ }] });
      expect(r({ type: 'x.a', actor: { id: 'INT-deadbeef' } }).value).toEqual({
        type: 'x.a',
        actor: { id: '[SECRET:INTERNAL]' },
      });
    });

    it('applies the hook after the detectors, with the path and class', () => {
      const seen: Array<[string, string, string]> = [];
      const r = createRedactor({
        hook: (t, ctx) => {
          seen.push([t, ctx.path, ctx.fieldClass]);
          return t.replaceAll('Acme', '[ORG]');
        },
      });
      const out = r({ type: 'x.h', content: { prompt: 'Acme mail a@example.com' }, actor: { id: 'Acme' } });
      expect(out.value).toEqual({
        type: 'x.h',
        content: { prompt: '[ORG] mail [EMAIL]' },
        actor: { id: 'Acme' },
      });
      expect(seen).toEqual([['Acme mail [EMAIL]', 'content.prompt', 'content']]);
      expect(out.findings).toEqual([
        { path: 'content.prompt', kind: 'email', count: 1 },
        { path: 'content.prompt', kind: 'hook', count: 1 },
      ]);
    });

    it('applies the hook to keys as to values, each time with its path', () => {
      const seen: string[] = [];
      const r = createRedactor({
        hook: (t, ctx) => {
          seen.push(ctx.path);
          return t.replaceAll('Jane Roe', '[NAME]');
        },
      });
      const input = {
        type: 'x.k',
        meta: { 'Jane Roe': 'owner' },
        content: { toolArgs: { patients: { 'Jane Roe': 'visit' } } },
      };
      const out = r(input);
      expect(out.value).toEqual({
        type: 'x.k',
        meta: { '[NAME]': 'owner' },
        content: { toolArgs: { patients: { '[NAME]': 'visit' } } },
      });
      expect(out.findings).toEqual(
        expect.arrayContaining([
          { path: 'meta["[NAME]"]', kind: 'hook', count: 1 },
          { path: 'content.toolArgs.patients["[NAME]"]', kind: 'hook', count: 1 },
        ]),
      );
      expect(seen).toEqual(
        expect.arrayContaining(['meta["Jane Roe"]', 'content.toolArgs.patients["Jane Roe"]']),
      );
      // not remembered across events: the hook is asked again (it is told the path)
      seen.length = 0;
      r(input);
      expect(seen).toContain('meta["Jane Roe"]');
    });

    describe('when a custom detector or the hook fails', () => {
      it.each<[string, RedactorOptions]>([
        [
          'the hook throws',
          {
            hook: (t) => {
              if (t.includes('boom')) throw new Error('boom');
              return t;
            },
          },
        ],
        ['the hook returns no string', { hook: ((t: string) => (t.includes('boom') ? 42 : t)) as never }],
        [
          'a custom detector throws',
          {
            custom: [
              {
                name: 'bad',
                find: (t) => {
                  if (t.includes('boom')) throw new Error('boom');
                  return [];
                },
              },
            ],
          },
        ],
        [
          'a custom detector returns a bad span',
          { custom: [{ name: 'bad', find: (t) => (t.includes('boom') ? [[5, 1_000]] : []) }] },
        ],
      ])('replaces the field and flags the result when %s, redacting the rest', (_what, options) => {
        const r = createRedactor(options)({
          type: 'x.f',
          content: { prompt: 'boom a@example.com', response: 'fine b@example.com' },
        });
        expect(r.value).toEqual({
          type: 'x.f',
          content: { prompt: '[REDACTION_FAILED]', response: 'fine [EMAIL]' },
        });
        expect(r.failed).toBe(true);
        expect(r.findings).toContainEqual({ path: 'content.prompt', kind: 'redaction-failed', count: 1 });
      });
    });

    it.each<[string, unknown]>([
      ['detectors.nope', { detectors: { nope: false } }],
      ['detectors.email', { detectors: { email: 'no' } }],
      ['classes.other', { classes: { other: 'all' } }],
      ['classes.meta', { classes: { meta: 'most' } }],
      ['classes.meta[0]', { classes: { meta: ['emial'] } }],
      ['classes.meta[0]', { classes: { meta: ['hook'] } }],
      ['sensitiveNames[0]', { sensitiveNames: ['two words'] }],
      ['custom[0].name', { custom: [{ name: 'Bad Name', pattern: /x/ }] }],
      ['custom[0].name', { custom: [{ name: 'email', pattern: /x/ }] }],
      ['custom[0]', { custom: [{ name: 'both', pattern: /x/, find: () => [] }] }],
      ['custom[0].pattern', { custom: [{ name: 'p', pattern: 'x' }] }],
      ['custom[0].marker', { custom: [{ name: 'p', pattern: /x/, marker: '' }] }],
      ['hook', { hook: 'x' }],
      ['options', 'all'],
    ])('rejects a bad %s with CONFIG_INVALID naming it', (field, options) => {
      try {
        createRedactor(options as RedactorOptions);
        expect.unreachable();
      } catch (err) {
        expect(isAuditError(err, 'CONFIG_INVALID')).toBe(true);
        expect((err as Error).message.startsWith(`${field}:`)).toBe(true);
      }
    });
  });

  describe('on short values (skipped unscanned when no detector can start in them)', () => {
    it('still finds secrets in short identifier fields', () => {
      const r = redact({
        type: 'x',
        actor: { id: 'pwd=hunter2' },
        requestId: 'pin: 4921x',
        model: { name: 'a://u:p@h' },
      });
      expect(at(r.value, 'actor.id')).toBe('pwd=[SECRET:pair]');
      expect(at(r.value, 'requestId')).toBe('pin: [SECRET:pair]');
      expect(at(r.value, 'model.name')).toBe('a://[SECRET:url]@h');
      expect(r.findings.map((f) => f.kind)).toEqual(['secret:pair', 'secret:pair', 'secret:url']);
    });

    it('still finds personal data in short meta values, with the hint of their key', () => {
      const r = redact({
        meta: {
          contact: 'a@b.co',
          phone: '4155552671',
          ssn: '123456789',
          ip: '10.0.0.5',
          v6: '::1:2:3',
          db: 'db:1',
        },
      });
      expect(r.value.meta).toEqual({
        contact: '[EMAIL]',
        phone: '[PHONE]',
        ssn: '[SSN]',
        ip: '[IP]',
        v6: '[IP]',
        db: 'db:1',
      });
      expect(r.findings.map((f) => f.kind)).toEqual(['email', 'phone', 'ssn', 'ipv4', 'ipv6']);
    });

    it('keeps short values and the input itself when nothing is in them', () => {
      const input = {
        type: 'model.completion',
        actor: { id: 'user-42' },
        model: { name: 'gpt-4o' },
        meta: { region: 'eu-west-1' },
      };
      const r = redact(input);
      expect(r.value).toBe(input);
      expect(r.findings).toEqual([]);
    });

    it('runs custom detectors and the hook on every short value', () => {
      const custom = createRedactor({ custom: [{ name: 'ab', pattern: /ab/ }] });
      expect(custom({ meta: { x: 'xab' } }).value).toEqual({ meta: { x: 'x[AB]' } });
      const seen: string[] = [];
      const hooked = createRedactor({
        hook: (t, { path }) => {
          seen.push(path);
          return t === 'ok' ? 'OK' : t;
        },
      });
      expect(hooked({ meta: { a: 'ok', b: 'fine' } }).value).toEqual({ meta: { a: 'OK', b: 'fine' } });
      expect(seen).toEqual(['meta.a', 'meta.a', 'meta.b', 'meta.b']); // each key, then its value
    });
  });

  describe('on events of changing shapes (keys remembered per place)', () => {
    it('judges a key anew when another key stands at its place', () => {
      const r = createRedactor();
      expect(r({ meta: { note: 'x' } }).findings).toEqual([]);
      expect(r({ meta: { password: 'x' } }).value).toEqual({ meta: { password: '[SECRET:key]' } });
      expect(r({ meta: { note: 'x' } }).findings).toEqual([]);
    });

    it('judges the same keys by the class of the place they stand in', () => {
      const r = createRedactor({ classes: { meta: 'off' } });
      const inner = { 'bob@example.com': 'x', password: 'p' };
      expect(r({ meta: inner }).value).toEqual({ meta: inner });
      expect(r({ content: { toolArgs: inner } }).value).toEqual({
        content: { toolArgs: { '[EMAIL]': 'x', password: '[SECRET:key]' } },
      });
      expect(r({ content: inner }).value).toEqual({
        content: { 'bob@example.com': 'x', password: '[SECRET:key]' },
      });
      expect(r(inner, 'meta').value).toBe(inner);
    });

    it('stays right over thousands of shapes', () => {
      const r = createRedactor();
      for (let i = 0; i < 5000; i++) {
        const key = `k${i}`;
        const out = r({ meta: { [key]: { [`n${i}`]: [{ password: 'p', [key]: 'a@b.co' }] } } });
        expect(out.findings).toEqual([
          { path: `meta.${key}.n${i}[0].password`, kind: 'secret:key', count: 1 },
          { path: `meta.${key}.n${i}[0].${key}`, kind: 'email', count: 1 },
        ]);
      }
    });

    it('flags a key that failed to be judged on every event', () => {
      const r = createRedactor({
        custom: [
          {
            name: 'boom',
            find: (t) => {
              if (t === 'explode') throw new Error('no');
              return [];
            },
          },
        ],
      });
      for (let i = 0; i < 3; i++) {
        const out = r({ meta: { nested: { explode: 1 } } });
        expect(out.failed).toBe(true);
        expect(out.findings).toContainEqual({ path: '', kind: 'redaction-failed', count: 1 });
      }
    });

    it('reads own properties only, as Object.keys does', () => {
      Object.defineProperty(Object.prototype, 'inheritedMail', {
        value: 'carol@example.org',
        enumerable: true,
        writable: true,
        configurable: true,
      });
      try {
        const input = { meta: { a: 'x' } };
        const r = redact(input);
        expect(r.value).toBe(input);
        expect(r.findings).toEqual([]);
      } finally {
        delete (Object.prototype as Record<string, unknown>).inheritedMail;
      }
    });
  });
});
