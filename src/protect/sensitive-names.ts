/**
 * Sensitive names: the key names (`password`, `apiKey`, `x-api-key`, `OPENAI_API_KEY`, ...) whose
 * values are secrets, in objects and in `name=value` / `"name": "value"` text. A name is split into
 * words at `_ - . / :` spaces and camelCase humps and matched word by word, never as a substring:
 * `monkey`, `spinner`, `keyboard`, `passenger`, `author`, `tokenizer` are not sensitive.
 *
 * `token` is sensitive only in the singular and when no qualifier follows it, so usage counts
 * (`tokens`, `inputTokens`, `max_tokens`, `tokenCount`, `token_type`) are never treated as secrets.
 */
import { isNonAsciiLetter } from './detectors/number-shape.js';

/** Single words whose value is a secret. */
const SECRET_WORDS: ReadonlySet<string> = new Set([
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'passcode',
  'secret',
  'secrets',
  'token',
  'apikey',
  'apikeys',
  'credential',
  'credentials',
  'creds',
  'authorization',
  'auth',
  'cookie',
  'cookies',
  'pin',
  'cvv',
  'cvc',
  'cvv2',
  'cvc2',
  'otp',
  'privatekey',
  'secretkey',
  'accesskey',
  'sessionkey',
  'clientsecret',
  'connectionstring',
  // "password" in other languages, where it is one ASCII word: German, Dutch, Portuguese,
  // Norwegian, Swedish, Finnish, Danish, Spanish written without ñ, French `motdepasse`,
  // Croatian and Serbian, Slovenian
  'passwort',
  'kennwort',
  'wachtwoord',
  'senha',
  'passord',
  'losenord',
  'salasana',
  'adgangskode',
  'contrasena',
  'motdepasse',
  'lozinka',
  'geslo',
  // and where it is not: Spanish, Swedish, Polish, Czech and Slovak, Hungarian, Turkish, Russian
  // and Ukrainian
  'contraseña',
  'lösenord',
  'hasło',
  'heslo',
  'jelszó',
  'şifre',
  'пароль',
]);

/** Two adjacent words whose value is a secret; `key` or `string` alone is not one. */
const SECRET_PAIRS: ReadonlySet<string> = new Set([
  'api key',
  'access key',
  'secret key',
  'private key',
  'signing key',
  'encryption key',
  'master key',
  'session key',
  'client key',
  'app key',
  'account key',
  'auth key',
  'license key',
  'connection string',
  'de passe', // mot de passe, mot_de_passe, motDePasse
]);

/**
 * A word right after the secret word that makes the name describe the secret rather than hold it:
 * `tokenCount`, `password_length`, `api_key_id`, `secretName`, `token_type`, `key_prefix`.
 */
const QUALIFIERS: ReadonlySet<string> = new Set([
  'count',
  'counts',
  'length',
  'len',
  'size',
  'type',
  'types',
  'kind',
  'name',
  'names',
  'id',
  'ids',
  'arn',
  'expiry',
  'expires',
  'expiration',
  'expired',
  'exp',
  'ttl',
  'lifetime',
  'age',
  'limit',
  'limits',
  'max',
  'min',
  'usage',
  'used',
  'url',
  'uri',
  'endpoint',
  'path',
  'file',
  'env',
  'var',
  'policy',
  'rule',
  'rules',
  'required',
  'enabled',
  'set',
  'present',
  'provided',
  'field',
  'header',
  'hint',
  'strength',
  'format',
  'version',
  'rotation',
  'rotated',
  'created',
  'updated',
  'at',
  'provider',
  'method',
  'source',
  'location',
  'store',
  'manager',
  'label',
  'description',
  'index',
  'prefix',
  'suffix',
  'last4',
  'fingerprint',
  'algorithm',
  'alg',
  'scheme',
  'scope',
  'scopes',
  'audience',
  'issuer',
  'budget',
  'estimate',
  'price',
  'cost',
  'rate',
  'ratio',
  'stats',
  'error',
  'errors',
  'valid',
  'invalid',
  'status',
  'mode',
  'strategy',
  'template',
  'consent',
  'reset',
]);

/**
 * Secret words that also name other things (`authDomain`, `secret_santa`, `pass_rate`,
 * `cookie_jar`): followed by another word of letters, they are sensitive only when that word holds the value
 * (`auth_code`, `secret_value`, `pin_code`, `pin_number`, `pass_hash`) or is a secret word itself (`auth_token`).
 */
const WEAK_WORDS: ReadonlySet<string> = new Set([
  'auth',
  'secret',
  'secrets',
  'pass',
  'pin',
  'cookie',
  'cookies',
  'otp',
]);
const HOLDER_WORDS: ReadonlySet<string> = new Set([
  'key',
  'keys',
  'value',
  'values',
  'code',
  'codes',
  'string',
  'data',
  'phrase',
  'word',
  'text',
  'bytes',
  'number',
  'digits',
  'hash',
  'hashed',
]);

/** A word before the secret word that makes the name a flag or a limit: `hasPassword`, `min_pin`. */
const NEGATING_PREFIXES: ReadonlySet<string> = new Set(['has', 'is', 'no', 'min', 'max', 'num']);

/** Names that look sensitive but are well-known non-secrets (the shell's working directory). */
const NOT_SECRET_EXACT: ReadonlySet<string> = new Set(['PWD', 'OLDPWD']);

function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}
function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * The lower-case words of a key name: split at any character other than a letter or digit, at a
 * lower-to-upper hump (`apiKey` → api key) and at the end of an acronym (`APIKey` → api key).
 * Digits stay with their word (`cvv2`, `sha256`).
 */
export function splitName(name: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 32;
    const alnum = isLower(c) || isUpper(c) || isDigit(c) || (c > 127 && isNonAsciiLetter(c));
    if (!alnum) {
      if (start >= 0) words.push(name.slice(start, i).toLowerCase());
      start = -1;
      continue;
    }
    if (start < 0) {
      start = i;
      continue;
    }
    const prev = name.charCodeAt(i - 1);
    const next = i + 1 < name.length ? name.charCodeAt(i + 1) : 32;
    const hump = isUpper(c) && (isLower(prev) || isDigit(prev) || (isUpper(prev) && isLower(next)));
    if (hump) {
      words.push(name.slice(start, i).toLowerCase());
      start = i;
    }
  }
  return words;
}

/** Decides whether key names are sensitive, with the built-in words plus `extraWords`. */
export class SensitiveNames {
  private readonly extra: ReadonlySet<string>;
  private readonly cache = new Map<string, boolean>();

  /** `extraWords`: further single words (compared lower-case, whole words only). */
  constructor(extraWords: readonly string[] = []) {
    this.extra = new Set(extraWords.map((w) => w.toLowerCase()));
  }

  /** True when a value under `name` is a secret. Cached: key names repeat from event to event. */
  isSensitive(name: string): boolean {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const result = this.compute(name);
    // Attacker-controlled names must not grow the cache without bound.
    if (this.cache.size >= 4096) this.cache.clear();
    this.cache.set(name, result);
    return result;
  }

  private compute(name: string): boolean {
    if (name.length === 0 || name.length > 128 || NOT_SECRET_EXACT.has(name)) return false;
    const words = splitName(name);
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      let last = -1;
      if (i + 1 < words.length && SECRET_PAIRS.has(`${w} ${words[i + 1]}`)) last = i + 1;
      else if (SECRET_WORDS.has(w) || this.extra.has(w) || isPasswordCompound(w)) last = i;
      if (last < 0) continue;
      const after = words[last + 1];
      if (after !== undefined && QUALIFIERS.has(after)) continue;
      if (
        after !== undefined &&
        last === i &&
        WEAK_WORDS.has(w) &&
        /^[a-z]{3,}$/.test(after) &&
        !HOLDER_WORDS.has(after) &&
        !SECRET_WORDS.has(after)
      )
        continue;
      const before = words[i - 1];
      if (before !== undefined && NEGATING_PREFIXES.has(before)) continue;
      return true;
    }
    return false;
  }
}

/**
 * One word ending in `password` or `passwd` after a prefix: `PGPASSWORD`, `DBPASSWORD`,
 * `rootpassword` (not `nopasswd`, `haspassword`).
 */
function isPasswordCompound(w: string): boolean {
  const stem = w.endsWith('password') ? w.length - 8 : w.endsWith('passwd') ? w.length - 6 : 0;
  if (stem < 2) return false;
  const prefix = w.slice(0, stem);
  return !NEGATING_PREFIXES.has(prefix);
}

/** True when `word` (a single word, any case) is one a secret is named by in prose: "the API key is …". */
export function isSecretKeyword(word: string): boolean {
  const w = word.toLowerCase();
  return (
    w === 'key' ||
    w === 'secret' ||
    w === 'token' ||
    w === 'password' ||
    w === 'passwd' ||
    w === 'pwd' ||
    w === 'passphrase' ||
    w === 'credential' ||
    w === 'credentials' ||
    w === 'apikey'
  );
}
