/**
 * Secrets with a published format, each found from its fixed prefix with `indexOf` (SIMD-fast:
 * all prefixes over a 600-character text cost well under 100 ns, measured) and then confirmed by
 * one sticky regex at that position:
 * AWS access key ids, GitHub tokens, OpenAI and Anthropic API keys, Slack tokens and webhooks,
 * Stripe keys and webhook secrets, Google API keys, JWTs, SendGrid API keys, Hugging Face and
 * GitLab access tokens, npm tokens.
 * Every pattern ends at the token's last character, so none can backtrack beyond one token.
 * A token starts a word, or follows `_` or `-` (`GH_TOKEN_ghp_…`, `key-AKIA…`); only the OpenAI
 * rule, whose `sk-` ends many words (`task-1234…`), wants a word start.
 */
import type { DetectorName } from '../detector-names.js';
import { K } from '../detector-names.js';
import { isWordChar } from './number-shape.js';
import { matchPem, newPemMemo, PEM_BEGIN, type PemMemo } from './pem.js';

/** One prefix and the pattern that confirms it. */
interface TokenRule {
  readonly prefix: string;
  /** A rare character of the prefix that `indexOf` looks for, and its offset in the prefix. */
  readonly anchor: string;
  readonly offset: number;
  readonly kind: DetectorName;
  /** The kind's number, looked up once (a keyed lookup per rule per scan cost ~1 µs, measured). */
  readonly k: number;
  /** Sticky; matched at the prefix's index. */
  readonly re: RegExp;
  /** Also in the text before the token: the match is extended back over it (`https://` of a webhook). */
  readonly lead?: string;
  /** The token body must hold a digit (keeps words like `sk-learn-...` out). */
  readonly digit?: boolean;
  /** The token body must hold an upper- and a lower-case letter (keeps snake_case names out). */
  readonly mixed?: boolean;
  /** Not after `_` or `-` either: the prefix ends ordinary words (`task-`). */
  readonly wordStart?: boolean;
}

const GITHUB_RE = /gh[pousr]_[A-Za-z0-9]{36,251}(?![\w-])/y;
const STRIPE_RE = /[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}(?![\w-])/y;
const AWS_ID_RE = /A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![\w-])/y;
const SLACK_RE = /xox[abposre]-[A-Za-z0-9-]{10,250}(?![\w-])/y;

function rule(
  prefix: string,
  anchor: string,
  kind: DetectorName,
  re: RegExp,
  extra: { lead?: string; digit?: boolean; mixed?: boolean; wordStart?: boolean } = {},
): TokenRule {
  return { prefix, anchor, offset: prefix.indexOf(anchor), kind, k: K[kind], re, ...extra };
}

/**
 * The rules. Anchors are characters rare in prose (`_`, `-`, `A`, `J`, `/`): a one-character
 * `indexOf` costs about 40 ns over 600 characters, a prefix starting with a common letter
 * (`sk-`, `eyJ`) 300–500 ns (measured). The Slack webhook is found from its `/`, not its `.`,
 * which ends every sentence of prose.
 */
export const TOKEN_RULES: readonly TokenRule[] = [
  rule('AKIA', 'A', 'secret:aws', AWS_ID_RE),
  rule('ASIA', 'A', 'secret:aws', AWS_ID_RE),
  rule('ABIA', 'A', 'secret:aws', AWS_ID_RE),
  rule('ACCA', 'A', 'secret:aws', AWS_ID_RE),
  rule('ghp_', '_', 'secret:github', GITHUB_RE),
  rule('gho_', '_', 'secret:github', GITHUB_RE),
  rule('ghu_', '_', 'secret:github', GITHUB_RE),
  rule('ghs_', '_', 'secret:github', GITHUB_RE),
  rule('ghr_', '_', 'secret:github', GITHUB_RE),
  rule('github_pat_', '_', 'secret:github', /github_pat_[A-Za-z0-9_]{70,250}(?![\w-])/y),
  rule('sk-ant-', '-', 'secret:anthropic', /sk-ant-[a-z]{2,12}[0-9]{0,3}-[A-Za-z0-9_-]{32,250}(?![\w-])/y),
  rule(
    'sk-',
    '-',
    'secret:openai',
    /sk-(?!ant-)(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{32,250}|[A-Za-z0-9]{32,250})(?![\w-])/y,
    { digit: true, wordStart: true },
  ),
  rule('xoxb-', '-', 'secret:slack', SLACK_RE, { digit: true }),
  rule('xoxp-', '-', 'secret:slack', SLACK_RE, { digit: true }),
  rule('xoxa-', '-', 'secret:slack', SLACK_RE, { digit: true }),
  rule('xoxo-', '-', 'secret:slack', SLACK_RE, { digit: true }),
  rule('xoxr-', '-', 'secret:slack', SLACK_RE, { digit: true }),
  rule('xoxs-', '-', 'secret:slack', SLACK_RE, { digit: true }),
  rule('xoxe-', '-', 'secret:slack', SLACK_RE, { digit: true }),
  rule('xapp-', '-', 'secret:slack', /xapp-\d-[A-Za-z0-9-]{20,250}(?![\w-])/y),
  rule(
    'hooks.slack.com/',
    '/',
    'secret:slack',
    /hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{16,300}/y,
    { lead: 'https://' },
  ),
  rule('sk_live_', '_', 'secret:stripe', STRIPE_RE),
  rule('sk_test_', '_', 'secret:stripe', STRIPE_RE),
  rule('rk_live_', '_', 'secret:stripe', STRIPE_RE),
  rule('rk_test_', '_', 'secret:stripe', STRIPE_RE),
  rule('whsec_', '_', 'secret:stripe', /whsec_[A-Za-z0-9+/]{24,250}(?![\w-])/y),
  rule('AIza', 'A', 'secret:google', /AIza[0-9A-Za-z_-]{35}(?![\w-])/y),
  rule('eyJ', 'J', 'secret:jwt', /eyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*(?![\w-])/y),
  rule('SG.', 'G', 'secret:sendgrid', /SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![\w-])/y),
  rule('hf_', '_', 'secret:huggingface', /hf_[A-Za-z]{34,40}(?![\w-])/y, { mixed: true }),
  rule('api_org_', '_', 'secret:huggingface', /api_org_[A-Za-z]{34}(?![\w-])/y, { mixed: true }),
  rule('glpat-', '-', 'secret:gitlab', /glpat-[A-Za-z0-9_.-]{20,250}(?![\w-])/y, {
    digit: true,
    mixed: true,
  }),
  rule('npm_', '_', 'secret:npm', /npm_[A-Za-z0-9]{36}(?![\w-])/y, { digit: true }),
];

/** Rules grouped by anchor character. */
const BY_ANCHOR: ReadonlyArray<readonly [anchor: string, rules: readonly TokenRule[]]> = [
  ...new Set(TOKEN_RULES.map((r) => r.anchor)),
].map((a) => [a, TOKEN_RULES.filter((r) => r.anchor === a)] as const);

/** Shortest text any rule can match: shorter strings skip the whole table. */
export const MIN_TOKEN_LENGTH = 20;

/** True when `text[start, end)` holds an upper-case and a lower-case ASCII letter. */
function hasBothCases(text: string, start: number, end: number): boolean {
  let upper = false;
  let lower = false;
  for (let i = start; i < end && !(upper && lower); i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) upper = true;
    else if (c >= 97 && c <= 122) lower = true;
  }
  return upper && lower;
}

function hasDigit(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/**
 * Finds format-recognisable secrets in `text`, pushing `start, end, kind` triples to `hits`.
 * With `pem`, also finds PEM private keys from the `-` anchor (see pem.ts).
 */
export function scanSecretTokens(text: string, on: Uint8Array, hits: number[], pem: boolean): void {
  for (let a = 0; a < BY_ANCHOR.length; a++) {
    const group = BY_ANCHOR[a]!;
    const anchor = group[0];
    const rules = group[1];
    const withPem = pem && anchor === '-';
    let wanted = withPem;
    for (let j = 0; j < rules.length && !wanted; j++) if (on[rules[j]!.k] === 1) wanted = true;
    if (!wanted) continue;
    // made at the first BEGIN line, so a text without one allocates nothing here
    let memo: PemMemo | undefined;
    let u = text.indexOf(anchor);
    while (u >= 0) {
      let next = u + 1;
      if (withPem && text.startsWith(PEM_BEGIN, u)) {
        memo ??= newPemMemo();
        const end = matchPem(text, u, memo);
        if (end > 0) {
          hits.push(u, end, K['secret:pem']);
          next = end;
        }
      } else {
        for (let j = 0; j < rules.length; j++) {
          const r = rules[j]!;
          const i = u - r.offset;
          if (i < 0 || on[r.k] !== 1 || !text.startsWith(r.prefix, i)) continue;
          // A token starts a word or follows `_` / `-`: `task-1234...` holds `sk-` but is no key.
          const b = i > 0 ? text.charCodeAt(i - 1) : 0;
          if (b === 95 || b === 45 ? r.wordStart === true : isWordChar(b)) continue;
          r.re.lastIndex = i;
          if (!r.re.test(text)) continue;
          const end = r.re.lastIndex;
          if (r.digit === true && !hasDigit(text, i + r.prefix.length, end)) continue;
          if (r.mixed === true && !hasBothCases(text, i + r.prefix.length, end)) continue;
          const start =
            r.lead !== undefined && text.startsWith(r.lead, i - r.lead.length) ? i - r.lead.length : i;
          hits.push(start, end, r.k);
          next = end;
          break;
        }
      }
      u = text.indexOf(anchor, next);
    }
  }
}
