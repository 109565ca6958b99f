/**
 * Generates the redaction corpus deterministically (seeded): positives for every detector in
 * realistic sentences, and hard negatives (dates, versions, order ids, UUIDs, hashes,
 * timestamps, ISBNs, non-Luhn numbers, tracking numbers, words like "monkey", usage counts,
 * dotted versions, ...). Fake secrets are built at run time (fakes.ts); nothing token-shaped is
 * stored. `npx tsx bench/redact-corpus/generate.ts` prints the generated cases as JSON lines.
 */
import { fileURLToPath } from 'node:url';
import * as f from './fakes.js';
import type { CorpusCase, Expected } from './types.js';

type Builder = (r: f.Rng) => { text?: string; json?: unknown; expect: Expected[] };

/** A text with one value of `kind` in one of `templates` (`{v}` marks it). */
function oneOf(
  kind: string,
  value: (r: f.Rng) => string,
  templates: readonly string[],
  secret?: (v: string) => string,
): Builder {
  return (r) => {
    const v = value(r);
    return { text: r.pick(templates).replace('{v}', v), expect: [[kind, secret ? secret(v) : v]] };
  };
}

const POSITIVES: Record<string, [count: number, build: Builder]> = {
  email: [
    36,
    (r) => {
      const v = f.email(r);
      const t = r.pick([
        'Please email {v} with the report.',
        'Contact: {v}',
        'From: Dana <{v}>',
        'mailto:{v}?subject=Hello',
        '{"user":"bob","email":"{v}"}',
        'Reply to {v}.',
        'user {v} signed in from the mobile app',
        'forwarding to {v}, then closing the ticket',
        'cc {v} and {w}',
      ]);
      if (t.includes('{w}')) {
        const w = f.email(r);
        return {
          text: t.replace('{v}', v).replace('{w}', w),
          expect: [
            ['email', v],
            ['email', w],
          ],
        };
      }
      return { text: t.replace('{v}', v), expect: [['email', v]] };
    },
  ],
  phone: [
    48,
    oneOf('phone', f.phone, [
      'Call {v} for support.',
      'Phone: {v}',
      'reach me on {v} after 5pm',
      'tel:{v}',
      'Customer phone {v} was updated.',
      'WhatsApp {v}',
      'If urgent, {v}.',
      '{"name":"Erin","phone":"{v}"}',
    ]),
  ],
  'phone-context': [
    8,
    (r) => {
      const v =
        r.next() < 0.5
          ? `${r.int(201, 989)}${r.int(201, 989)}${r.digits(4)}`
          : `${r.int(2, 9)}${r.digits(6)}`;
      const t = r.pick(['call me at {v}', 'Mobile: {v}', 'my cell is {v}', 'Tel. {v}']);
      return { text: t.replace('{v}', v), expect: [['phone', v]] };
    },
  ],
  ssn: [
    26,
    (r) => {
      const v = f.ssn(r);
      if (r.next() < 0.2) {
        const bare = v.replaceAll('-', '');
        return {
          text: r.pick(['SSN: {v}', 'social security number {v}']).replace('{v}', bare),
          expect: [['ssn', bare]],
        };
      }
      const shown = r.next() < 0.2 ? v.replaceAll('-', ' ') : v;
      const t = r.pick([
        'SSN {v}',
        "The applicant's SSN is {v}.",
        'ssn={v}',
        'SSN on file: {v}',
        'id {v} (verified)',
      ]);
      return { text: t.replace('{v}', shown), expect: [['ssn', shown]] };
    },
  ],
  card: [
    36,
    oneOf('card', f.card, [
      'Card number {v}, exp 09/27',
      'paid with {v}',
      'card: {v}',
      'PAN={v}',
      '{"card_number":"{v}","exp":"12/28"}',
      'Charge {v} for the order.',
      'the customer read out {v} over the phone',
    ]),
  ],
  iban: [
    30,
    oneOf('iban', f.iban, [
      'IBAN: {v}',
      'Please transfer to {v} by Friday.',
      'account {v}',
      '{"iban":"{v}"}',
      'Refund to IBAN {v}, reference 2024-118.',
    ]),
  ],
  ipv4: [
    28,
    (r) => {
      if (r.next() < 0.15) {
        const v = `10.${r.int(0, 255)}.0.0`;
        return { text: `allowlist ${v}/16 for the VPN`, expect: [['ipv4', v]] };
      }
      const v = f.ipv4(r);
      const t = r.pick([
        'Request from {v} was blocked',
        'client_ip={v}',
        'ssh admin@{v}',
        'listening on {v}:8080',
        'GET / from {v} - 200',
        'X-Forwarded-For: {v}',
        'login attempt from {v}.',
      ]);
      return { text: t.replace('{v}', v), expect: [['ipv4', v]] };
    },
  ],
  ipv6: [
    22,
    oneOf('ipv6', f.ipv6, [
      'client {v} connected',
      'https://[{v}]:443/health',
      'AAAA record {v}',
      'from {v}, denied',
    ]),
  ],
  'secret:aws': [
    22,
    (r) => {
      if (r.next() < 0.5) {
        return oneOf('secret:aws', f.awsKeyId, [
          'aws_access_key_id = {v}',
          'AccessKeyId: {v}',
          'key {v} was rotated',
          '"AccessKeyId": "{v}"',
        ])(r);
      }
      return oneOf('secret:aws', f.awsSecret, [
        'aws_secret_access_key = {v}',
        'AWS_SECRET_ACCESS_KEY={v}',
        'export AWS_SECRET_ACCESS_KEY="{v}"',
        'my AWS secret access key is {v}',
      ])(r);
    },
  ],
  'secret:github': [
    16,
    oneOf('secret:github', f.github, [
      'git clone https://{v}@github.com/org/repo.git',
      'GITHUB_TOKEN={v}',
      'token: {v}',
      'Authorization: token {v}',
      'use {v} for the CI job',
    ]),
  ],
  'secret:openai': [
    12,
    oneOf('secret:openai', f.openai, [
      'OPENAI_API_KEY={v}',
      'client = OpenAI(api_key="{v}")',
      'key {v} leaked in the logs',
    ]),
  ],
  'secret:anthropic': [
    10,
    oneOf('secret:anthropic', f.anthropic, [
      'ANTHROPIC_API_KEY={v}',
      'x-api-key: {v}',
      'pasted {v} into the chat',
    ]),
  ],
  'secret:slack': [
    14,
    (r) =>
      r.next() < 0.6
        ? oneOf('secret:slack', f.slackToken, [
            'SLACK_BOT_TOKEN={v}',
            'bot token {v} revoked',
            '"token": "{v}"',
          ])(r)
        : oneOf('secret:slack', f.slackHook, ['webhook: {v}', 'curl -X POST {v} -d @msg.json'])(r),
  ],
  'secret:stripe': [
    12,
    oneOf('secret:stripe', f.stripe, [
      'STRIPE_SECRET_KEY={v}',
      'stripe.api_key = "{v}"',
      'the key {v} is live',
    ]),
  ],
  'secret:google': [
    10,
    oneOf('secret:google', f.google, [
      'https://maps.example.com/api/js?key={v}',
      'GOOGLE_API_KEY={v}',
      'api key {v}',
    ]),
  ],
  'secret:sendgrid': [
    10,
    oneOf('secret:sendgrid', f.sendgrid, [
      'SENDGRID_API_KEY={v}',
      'sg.setApiKey("{v}")',
      'the mail key {v} was rotated',
    ]),
  ],
  'secret:huggingface': [
    10,
    oneOf('secret:huggingface', f.huggingface, [
      'HF_TOKEN={v}',
      'huggingface-cli login --token {v}',
      'pipeline(token="{v}")',
      'use {v} to pull the model',
    ]),
  ],
  'secret:gitlab': [
    10,
    oneOf('secret:gitlab', f.gitlab, [
      'GITLAB_TOKEN={v}',
      'git clone https://oauth2:{v}@gitlab.example.com/team/repo.git',
      'PRIVATE-TOKEN: {v}',
      'personal access token {v} expires friday',
    ]),
  ],
  'secret:npm': [
    10,
    oneOf('secret:npm', f.npmToken, [
      '//registry.npmjs.org/:_authToken={v}',
      'NPM_TOKEN={v}',
      'publish with {v} from CI',
    ]),
  ],
  'secret:jwt': [
    12,
    oneOf('secret:jwt', f.jwt, [
      'Authorization: Bearer {v}',
      'id_token={v}',
      'cookie session={v}; Path=/',
      'jwt {v}',
    ]),
  ],
  'secret:pem': [
    8,
    (r) => {
      const escaped = r.next() < 0.3;
      const v = f.pem(r, escaped ? '\\n' : '\n');
      const t = escaped
        ? '{"private_key":"{v}"}'
        : r.pick(['key file:\n{v}\n', '{v}', 'deploy key\n{v}\nend']);
      // the body must be gone: check one line of it
      return { text: t.replace('{v}', v), expect: [['secret:pem', v.slice(40, 100)]] };
    },
  ],
  'secret:bearer': [
    12,
    oneOf('secret:bearer', (r) => f.opaque(r), [
      'Authorization: Bearer {v}',
      "curl -H 'Authorization: Bearer {v}' https://api.example.com",
      'sent bearer {v} upstream',
    ]),
  ],
  'secret:url': [
    12,
    (r) => {
      const pw = r.body(r.int(8, 16));
      const user = r.pick(['admin', 'app', 'svc_user', '']);
      const url = r.pick([
        `postgres://${user}:${pw}@db.example.com:5432/app`,
        `mysql://${user}:${pw}@10.0.0.5/shop`,
        `redis://${user}:${pw}@cache.internal:6379/0`,
        `mongodb+srv://${user}:${pw}@cluster0.example.net/db`,
        `amqp://${user}:${pw}@mq.example.com/`,
        `https://${user}:${pw}@files.example.com/export.csv`,
      ]);
      return {
        text: r.pick(['DATABASE_URL={v}', 'connecting to {v}', '"dsn": "{v}"']).replace('{v}', url),
        expect: [['secret:url', pw]],
      };
    },
  ],
  'secret:pair': [
    36,
    (r) => {
      const name = r.pick([
        'password',
        'PASSWORD',
        'db_password',
        'passwd',
        'pwd',
        'secret',
        'client_secret',
        'api_key',
        'apiKey',
        'X-API-Key',
        'access_token',
        'refresh_token',
        'auth_token',
        'DB_PASS',
        'SMTP_PASSWORD',
        'session_token',
        'pin',
        'spring.datasource.password',
      ]);
      const value =
        name === 'pin'
          ? r.digits(4)
          : r.pick([
              'hunter2',
              'S3cure!Pass',
              'correct-horse-9',
              'P@ssw0rd2024',
              'letmein',
              'Tr0ub4dor',
              'winter2024!',
              'qwerty123',
            ]);
      const t = r.pick([
        '{n}={v}',
        '{n}: {v}',
        '{n} = "{v}"',
        '"{n}": "{v}"',
        "{n}='{v}'",
        '--{n}={v}',
        'export {n}={v}',
      ]);
      return {
        text: `config ${t.replace('{n}', name).replace('{v}', value)} loaded`,
        expect: [['secret:pair', value]],
      };
    },
  ],
  'secret:entropy': [
    18,
    oneOf('secret:entropy', (r) => f.opaque(r, r.int(20, 40)), [
      'the api key is {v}',
      'Here is the secret {v} for staging',
      'the token was {v}.',
      'password is set to {v}',
      'use signing key {v}',
      'my access key {v} works',
    ]),
  ],
  'secret:key': [
    18,
    (r) => {
      const v = r.pick(['hunter2', f.opaque(r, 16), 'p4ss-word', `${r.digits(4)}`]);
      const key = r.pick([
        'password',
        'apiKey',
        'x-api-key',
        'client_secret',
        'Authorization',
        'pin',
        'db_pass',
        'privateKey',
        'cookie',
      ]);
      const json = r.pick([
        { user: 'bob', [key]: v },
        { settings: { retries: 3, [key]: v } },
        { items: [{ name: 'svc', [key]: v }] },
      ]);
      return { json, expect: [['secret:key', v]] };
    },
  ],
};

function range(r: f.Rng, lo: number, hi: number, pad = 2): string {
  return String(r.int(lo, hi)).padStart(pad, '0');
}

const NEGATIVES: Record<string, [count: number, build: (r: f.Rng) => string | { json: unknown }]> = {
  date: [
    32,
    (r) => {
      const y = String(r.int(1990, 2030));
      const m = range(r, 1, 12);
      const d = range(r, 1, 28);
      const v = r.pick([
        `${y}-${m}-${d}`,
        `${d}.${m}.${y}`,
        `${m}/${d}/${y}`,
        `${y}-${m}-${d} ${range(r, 0, 23)}:${range(r, 0, 59)}:${range(r, 0, 59)}`,
        `${y}-${m}-${d}T${range(r, 0, 23)}:${range(r, 0, 59)}:00Z`,
        `${d}/${m}/${y.slice(2)}`,
        `${y}/${m}/${d}`,
        `${y}${m}${d}`,
        `${d}-${m}-${y}`,
        `Jan ${Number(d)}, ${y}`,
      ]);
      return r
        .pick(['Meeting on {v}.', 'Due {v}', 'Logged at {v} by the scheduler', 'born {v}', 'valid until {v}'])
        .replace('{v}', v);
    },
  ],
  version: [
    26,
    (r) => {
      const [a, b, c, d] = [r.int(0, 20), r.int(0, 30), r.int(0, 200), r.int(0, 9999)];
      return r.pick([
        `upgraded to v${a}.${b}.${c}`,
        `version ${a}.${b}.${c}.${d}`,
        `Node.js ${a}.${b}.${c}`,
        `release ${a}.${b}`,
        `${a}.${b}.${c}-beta.${r.int(1, 9)}`,
        `build ${r.int(2020, 2025)}.${range(r, 1, 12)}.${range(r, 1, 28)}.${r.int(1, 99)}`,
        `Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/${r.int(90, 130)}.0.${r.int(1000, 6999)}.${r.int(10, 200)}`,
        `firmware ${a}.${b}.${c}.${r.int(1, 99)}`,
        `python 3.${r.int(6, 13)}.${r.int(0, 20)}`,
      ]);
    },
  ],
  'order-id': [
    26,
    (r) =>
      r.pick([
        `ORD-${r.int(2019, 2025)}-${r.digits(6)}`,
        `order #${r.digits(9)}`,
        `Order number: ${r.int(1, 9)}${r.digits(9)}`,
        `INV-${r.digits(6)}`,
        `PO ${r.int(4, 5)}${r.digits(9)}`,
        `ticket #${r.digits(5)}`,
        `case ${r.digits(8)}`,
        `SKU-${r.digits(5)}-${r.digits(2)}`,
        `invoice no. ${r.digits(3)}-${r.digits(3)}-${r.digits(4)}`,
        `order ${r.int(1, 9)}${r.digits(15)}`,
      ]),
  ],
  uuid: [
    20,
    (r) =>
      r
        .pick(['request {v} done', 'id={v}', '{"conversationId":"{v}"}', 'trace {v}'])
        .replace('{v}', f.uuid(r)),
  ],
  hash: [
    26,
    (r) =>
      r.pick([
        `sha256: ${r.chars(64, f.HEX)}`,
        `commit ${r.chars(40, f.HEX)}`,
        `fixed in ${r.chars(7, f.HEX)}`,
        `md5 ${r.chars(32, f.HEX)}`,
        `image nginx@sha256:${r.chars(64, f.HEX)}`,
        `ETag: "${r.chars(32, f.HEX)}"`,
        `content digest ${r.chars(64, f.HEX)} matched`,
        `git checkout ${r.chars(12, f.HEX)}`,
      ]),
  ],
  timestamp: [
    22,
    (r) =>
      r.pick([
        `epoch ${r.int(1500000000, 1800000000)}`,
        `ts=${r.int(1500000000, 1800000000)}${r.digits(3)}`,
        `took ${r.int(1000, 9999999)} ms`,
        `at ${range(r, 0, 23)}:${range(r, 0, 59)}:${range(r, 0, 59)}.${r.digits(3)}`,
        `2024-${range(r, 1, 12)}-${range(r, 1, 28)}T${range(r, 0, 23)}:${range(r, 0, 59)}:${range(r, 0, 59)}.${r.digits(3)}+02:00`,
        `Date: Mon, ${range(r, 1, 28)} Jan 2024 ${range(r, 0, 23)}:${range(r, 0, 59)}:${range(r, 0, 59)} GMT`,
        `duration ${r.int(1, 999)}.${r.digits(6)}s`,
      ]),
  ],
  isbn: [
    15,
    (r) => (r.next() < 0.7 ? `ISBN ${f.isbn13(r, r.next() < 0.6)}` : `see ${f.isbn13(r, true)} (paperback)`),
  ],
  'non-luhn-16': [
    22,
    (r) => {
      const n = f.nonLuhn16(r);
      const shown = r.pick([n, n.match(/.{4}/g)!.join(' '), n.match(/.{4}/g)!.join('-')]);
      return r
        .pick(['ref {v}', 'card {v} was declined as invalid', 'number {v}', '{v}'])
        .replace('{v}', shown);
    },
  ],
  'luhn-no-issuer': [
    10,
    (r) => {
      let n = '';
      for (;;) {
        n = `${r.pick(['1', '7', '8', '9'])}${r.digits(15)}`;
        if (!/^(?:4|5[1-5]|3[47]|6|2[2-7])/.test(n)) break;
      }
      return `serial ${n}`;
    },
  ],
  words: [
    26,
    (r) =>
      r.pick([
        'The monkey ate a banana.',
        'The spinner kept spinning while loading.',
        'keyboard shortcuts: Ctrl+K opens search',
        'He was the Bearer of bad news.',
        'the key risks are supply chain and currency',
        'tokens used: 1234 of 4096',
        'Password: must be at least 8 characters long',
        'Enter your password below.',
        'Reset token expired, please try again.',
        'the API key is required for this endpoint',
        'token limit is 8192 per request',
        'passenger count: 3',
        'authentication failed for user bob',
        'secret santa party on Friday',
        'Add your API key in settings, then restart.',
        'The author signed the passport.',
        'a turkey, a donkey and a monkey',
        'tokenizer: cl100k_base',
        'primary key id, foreign key user_id',
        'spinnerColor: blue',
      ]),
  ],
  'json-usage': [
    20,
    (r) => ({
      json: r.pick([
        { inputTokens: r.int(1, 9999), outputTokens: r.int(1, 9999), totalTokens: r.int(1, 99999) },
        { max_tokens: 4096, temperature: 0.2 },
        { token_count: r.int(1, 9999) },
        { monkey: 'banana', spinner: true, keyboard: 'dvorak' },
        { tokenizer: 'cl100k_base', tokens: [r.int(1, 50000), r.int(1, 50000)] },
        { token: 'Hello', logprob: -0.31, top_logprobs: [{ token: ' world', logprob: -1.2 }] },
        { password_min_length: 12, hasPassword: true, secretName: 'prod/db' },
        { authMethod: 'password', auth_type: 'oauth' },
        { api_key_id: `key_${r.digits(6)}`, session_id: f.uuid(r) },
        { public_key: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${r.body(43, f.B64)} bob@laptop` },
      ]),
    }),
  ],
  tracking: [
    16,
    (r) =>
      r.pick([
        `UPS 1Z${r.chars(6, f.UPPER + f.DIGITS)}${r.digits(10)}`,
        `USPS 9400 1${r.digits(3)} ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(2)}`,
        `FedEx ${r.digits(4)} ${r.digits(4)} ${r.digits(4)}`,
        `DHL JD${r.digits(18)}`,
        `tracking number ${r.digits(12)}`,
      ]),
  ],
  'ip-like': [
    18,
    (r) =>
      r.pick([
        `version ${r.int(1, 9)}.${r.int(0, 9)}.${r.int(0, 9)}.${r.int(0, 99)}`,
        'OID 1.3.6.1.4.1.311.21.20',
        `${r.int(256, 999)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(0, 255)}`,
        `10.0.0.${r.int(256, 999)}`,
        `${r.int(1, 9)}.${r.int(0, 9)}.${r.int(0, 9)}`,
        `at ${range(r, 0, 23)}:${range(r, 0, 59)}:${range(r, 0, 59)}`,
        `mac 00:1A:2B:${r.chars(2, '0123456789ABCDEF')}:4D:5E`,
        'std::vector<std::string>',
        'Foo::Bar::baz()',
        'aspect ratio 16:9',
        'John 3:16',
      ]),
  ],
  'invalid-ssn': [
    12,
    (r) =>
      r.pick([
        `SSN 000-${range(r, 1, 99)}-${range(r, 1, 9999, 4)}`,
        `SSN 666-${range(r, 1, 99)}-${range(r, 1, 9999, 4)}`,
        `SSN 9${range(r, 0, 99)}-${range(r, 1, 99)}-${range(r, 1, 9999, 4)}`,
        `SSN ${range(r, 1, 665, 3)}-00-${range(r, 1, 9999, 4)}`,
        `SSN ${range(r, 1, 665, 3)}-${range(r, 1, 99)}-0000`,
      ]),
  ],
  'invalid-iban': [10, (r) => `IBAN ${f.badIban(r)}`],
  'numbers-in-prose': [
    18,
    (r) =>
      r.pick([
        `$${r.int(1, 999)},${r.digits(3)},${r.digits(3)}.${r.digits(2)}`,
        `€ ${r.int(1, 999)}.${r.digits(3)}.${r.digits(3)},${r.digits(2)}`,
        `growth of ${r.int(1, 99)}.${r.int(0, 9)}%`,
        'pi is 3.14159265358979',
        '2^31-1 = 2147483647',
        `population ${r.int(1, 9)},${r.digits(3)},${r.digits(3)},${r.digits(3)}`,
        `coordinates ${r.int(-89, 89)}.${r.digits(4)}, ${r.int(-179, 179)}.${r.digits(4)}`,
        `ZIP ${r.digits(5)}-${r.digits(4)}`,
        `pages ${r.int(100, 300)}-${r.int(301, 500)}`,
        `In ${r.int(1990, 2025)} we served ${r.int(1, 999)},${r.digits(3)} customers in ${r.int(2, 60)} countries.`,
        `score ${r.int(50, 99)}-${r.int(50, 99)}`,
        `${r.int(1, 999)} ${r.digits(3)} ${r.digits(3)} units`,
      ]),
  ],
  'code-config': [
    24,
    (r) =>
      r.pick([
        'region=eu-west-1',
        'timeout=30s retries=3',
        'user=admin',
        'if (a == b) return;',
        'while (x != y) step();',
        `https://example.com/api/v1/items?page=${r.int(1, 9)}&limit=50`,
        'ssh://git@github.com/org/repo.git',
        'git clone git@github.com:org/repo.git',
        'ping @alice on chat',
        'icon@2x.png',
        'npm i lodash@4.17.21',
        'root@localhost',
        'npm i @types/node@20.11.5',
        'password_length=12',
        'max_tokens=4096',
        'token_type=Bearer',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell reference is the case
        'api_key=${API_KEY}',
        'password: ********',
        'secret: null',
        'hasPassword=true',
        'use sk-learn-classification for this',
        'task-12345678901234567890',
        'AKIAK is a town in Alaska',
      ]),
  ],
  'random-no-keyword': [
    12,
    (r) =>
      r.pick([
        `data:image/png;base64,${r.body(80, f.B64)}`,
        `avatar ${r.body(44, f.B64)}`,
        `blob ${r.body(40, f.B64)} end`,
        `nonce ${r.body(24, f.B64URL)}`,
        `request id ${r.body(26, f.UPPER + f.DIGITS)}`,
      ]),
  ],
};

/** The generated cases, the same on every run. */
export function generateCases(seed = 20240501): CorpusCase[] {
  const out: CorpusCase[] = [];
  for (const [tag, [count, build]] of Object.entries(POSITIVES)) {
    const r = new f.Rng(seed ^ hash(tag));
    for (let i = 0; i < count; i++) {
      const c = build(r);
      out.push({ id: `gen:${tag}:${i}`, tag: tag.replace(/-context$/, ''), ...c });
    }
  }
  for (const [tag, [count, build]] of Object.entries(NEGATIVES)) {
    const r = new f.Rng(seed ^ hash(tag));
    for (let i = 0; i < count; i++) {
      const v = build(r);
      out.push({ id: `gen:${tag}:${i}`, tag, ...(typeof v === 'string' ? { text: v } : v), expect: [] });
    }
  }
  return out;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const c of generateCases()) process.stdout.write(`${JSON.stringify(c)}\n`);
}
