import { describe, expect, it } from 'vitest';
import { fakeBody, only } from '../../test-support/redaction.js';

// Prefixes are joined at run time so that no token-shaped literal sits in the repository.
const p = (...parts: string[]) => parts.join('');
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

const positives: Array<[kind: string, token: string]> = [
  ['secret:aws', p('AK', 'IA', fakeBody(16, 1, UPPER_DIGITS))],
  ['secret:aws', p('AS', 'IA', fakeBody(16, 2, UPPER_DIGITS))],
  ['secret:github', p('gh', 'p_', fakeBody(36, 3))],
  ['secret:github', p('gh', 's_', fakeBody(36, 4))],
  ['secret:github', p('github', '_pat_', fakeBody(22, 5), '_', fakeBody(59, 6))],
  ['secret:openai', p('sk', '-proj-', fakeBody(74, 7, B64URL))],
  ['secret:openai', p('sk', '-', fakeBody(48, 8))],
  ['secret:anthropic', p('sk', '-ant-', 'api03-', fakeBody(93, 9, B64URL), 'AA')],
  ['secret:slack', p('xo', 'xb-', '123456789012-1234567890123-', fakeBody(24, 10))],
  [
    'secret:slack',
    p('xo', 'xp-', '123456789012-123456789012-123456789012-', fakeBody(32, 11, '0123456789abcdef')),
  ],
  ['secret:slack', p('https://', 'hooks.slack', '.com/services/', 'T0FAKE123/B0FAKE456/', fakeBody(24, 12))],
  ['secret:stripe', p('sk', '_live_', fakeBody(24, 13))],
  ['secret:stripe', p('rk', '_test_', fakeBody(99, 14))],
  ['secret:stripe', p('wh', 'sec_', fakeBody(32, 15))],
  ['secret:google', p('AI', 'za', fakeBody(35, 16, B64URL))],
  ['secret:sendgrid', p('S', 'G.', fakeBody(22, 18, B64URL), '.', fakeBody(43, 19, B64URL))],
  [
    'secret:huggingface',
    p('h', 'f_', fakeBody(34, 20, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz')),
  ],
  ['secret:gitlab', p('gl', 'pat-', fakeBody(20, 21, B64URL))],
  ['secret:npm', p('np', 'm_', fakeBody(36, 22))],
  [
    'secret:jwt',
    p(
      b64url('{"alg":"HS256","typ":"JWT"}'),
      '.',
      b64url('{"sub":"1234567890","name":"Fake"}'),
      '.',
      fakeBody(43, 17, B64URL),
    ),
  ],
];

describe('secret token detectors', () => {
  it.each(positives)('finds a %s token in text, in JSON and after =', (kind, token) => {
    const marker = `[${kind.toUpperCase().replace('SECRET:', 'SECRET:')}]`.replace(
      /^\[SECRET:(.*)\]$/,
      (_, k) => `[SECRET:${k.toLowerCase()}]`,
    );
    expect(only(kind, `use ${token} here`)).toBe(`use ${marker} here`);
    expect(only(kind, `{"k":"${token}"}`)).toBe(`{"k":"${marker}"}`);
    expect(only(kind, `X=${token}`)).toBe(`X=${marker}`);
  });

  it.each([
    ['secret:aws', 'AKIAK is a town; AKIA1234 is too short'],
    ['secret:aws', p('xAK', 'IA', fakeBody(16, 1, UPPER_DIGITS))],
    ['secret:github', p('gh', 'p_', 'short')],
    ['secret:github', p('mygh', 'p_', fakeBody(36, 3))],
    ['secret:openai', 'run sk-learn-classification-tutorial-for-beginners now'],
    ['secret:openai', p('task-', fakeBody(40, 4))],
    ['secret:openai', p('sk', '-', 'abcdefghijklmnopqrstuvwxyzabcdefghijkl')],
    ['secret:slack', 'xoxb-is-not-a-token-without-digits'],
    ['secret:stripe', p('pk', '_live_', fakeBody(24, 5))],
    ['secret:stripe', 'sk_live_short'],
    ['secret:google', p('AI', 'za', fakeBody(20, 6, B64URL))],
    ['secret:jwt', 'eyJhbGciOiJIUzI1NiJ9 alone is a header'],
    ['secret:jwt', p(b64url('{"alg":"none"}'), '.', 'notjson.sig')],
    ['secret:sendgrid', 'SG.send(message) and SG.helpers.mail.Mail'],
    ['secret:huggingface', 'hf_hub_download_and_cache_every_model_file'],
    ['secret:gitlab', 'glpat-rotation-policy-document-version-2'],
    ['secret:npm', 'npm_config_cache_directory_for_ci_builds_2024'],
  ])('%s leaves %j alone', (kind, text) => {
    expect(only(kind, text)).toBe(text);
  });

  it.each(positives.filter(([kind]) => kind !== 'secret:openai' && kind !== 'secret:jwt'))(
    'finds a %s token glued after _ or - (GH_TOKEN_…, key-…)',
    (kind, token) => {
      const marker = `[SECRET:${kind.slice('secret:'.length)}]`;
      expect(only(kind, `GH_TOKEN_${token} x`)).toBe(`GH_TOKEN_${marker} x`);
      expect(only(kind, `key-${token} x`)).toBe(`key-${marker} x`);
    },
  );

  it('wants a word start before an OpenAI key, whose sk- ends words', () => {
    const key = p('sk', '-', fakeBody(48, 8));
    expect(only('secret:openai', `task_${key}`)).toBe(`task_${key}`);
    expect(only('secret:openai', `x ${key}`)).toBe('x [SECRET:openai]');
  });

  it('stays linear on 100 KB of prefixes', () => {
    for (const kind of ['secret:github', 'secret:openai', 'secret:aws', 'secret:jwt', 'secret:stripe']) {
      const text = p('gh', 'p_', 'sk', '-', 'AK', 'IA', 'ey', 'J.', 'sk', '_live_ ').repeat(4000);
      expect(only(kind, text)).toBe(text);
      const dashes = '-'.repeat(100_000);
      expect(only(kind, dashes)).toBe(dashes);
    }
  });
});
