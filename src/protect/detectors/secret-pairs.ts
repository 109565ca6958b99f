/**
 * `name=value`, `name: value`, `"name": "value"`, `name => value` and `name := value` in text,
 * where the name is sensitive (see sensitive-names.ts): the value is replaced, the name stays.
 * Found from each `:` and `=` with `indexOf`; the name is read backwards (at most 64 characters),
 * the value forwards (at most 4096) to white space, a quote or `<`; punctuation (`,;&)]}>`) ends it
 * as endOfValue says. An `Authorization: Basic dXNl...` value keeps its scheme word;
 * a `Cookie:` value runs to the end of the line (every cookie of the header).
 * Left alone: placeholders (`***`, `<password>`, `${DB_PASSWORD}`, `{{secret}}`, `null`, `true`,
 * `YOUR_API_KEY_HERE`), values of punctuation only, YAML references (`!Ref ClientSecretParam`),
 * markers of an earlier redaction, prose after a colon ("Password: Must be 8 characters"), state
 * words ("Authorization: required"), and code (`apiKey = process.env.KEY`, `token = await f()`).
 */
import type { SensitiveNames } from '../sensitive-names.js';
import { isAsciiLetter, isDigit, isNonAsciiLetter } from './number-shape.js';

const PLACEHOLDER_RE =
  /^(?:\**|x{3,}|X{3,}|\.{3,}|<[^>]*>|\[[^\]]*\]|\{\{.*\}\}|\$\{.*\}|\$[A-Za-z_][A-Za-z0-9_]*|%s|%\(\w+\)s|null|nil|none|None|undefined|true|false|True|False|redacted|REDACTED|hidden|masked|omitted)$/;
/** Template values: `YOUR_API_KEY_HERE`, `your-token`, `<insert key here>`-like words. */
const TEMPLATE_RE =
  /^(?:(?:YOUR|MY)[_-][A-Z0-9_-]+|[A-Z0-9_-]*_HERE|(?:your|my)[_-][a-z0-9_-]+|[a-z0-9_-]+[_-]here|\{[\w.]+\})$/;
/** A help text's metavariable: `--api-key API_KEY`, `--client-secret CLIENT_SECRET`. */
const METAVAR_RE = /^[A-Z][A-Z_]*[A-Z]$/;
/** YAML tags that make the value a reference (CloudFormation, Ansible Vault, env): `!Ref Param`. */
const YAML_TAG_RE =
  /^!(?:Ref|Sub|GetAtt|ImportValue|FindInMap|Join|Select|Split|If|Base64|Cidr|GetAZs|Transform|Condition|Equals|Not|And|Or|vault|ENV|env|secret|include)$/;
/** An environment or template reference: `$VAR`, `${VAR}`, `$(cmd)`. */
const ENV_REF_RE = /^\$(?:[{(]|[A-Z_])/;

/** A value that stands in for a secret: `***`, `<password>`, `null`, `YOUR_API_KEY_HERE`, `{pw}`. */
function isPlaceholder(value: string): boolean {
  return PLACEHOLDER_RE.test(value) || TEMPLATE_RE.test(value);
}
/** Values that state something about a secret rather than hold one ("Authorization: required"). */
const STATE_WORDS: ReadonlySet<string> = new Set([
  'required',
  'optional',
  'missing',
  'invalid',
  'denied',
  'failed',
  'expired',
  'disabled',
  'enabled',
  'yes',
  'no',
  'unknown',
  'ok',
  'empty',
  'unset',
  'pending',
  'granted',
  'revoked',
  'changed',
  'updated',
  'rotated',
  'provided',
  'present',
  'absent',
  'valid',
  'incorrect',
  'wrong',
]);
/** Values that are code, not a secret: `apiKey = process.env.KEY;`, `token = await getToken();`. */
const CODE_WORDS: ReadonlySet<string> = new Set([
  'await',
  'new',
  'function',
  'async',
  'yield',
  'typeof',
  'require',
  'import',
  'lambda',
  'getpass',
  'input',
]);
const CODE_REF_RE =
  /^(?:process\.env|import\.meta\.env|os\.environ|env|config|settings|secrets|vars|inputs|self|this|props|ctx|req|request|params|options|opts)[.[]/;
const ATTR_NAME_RE = /\b(?:key|name)\s*=\s*["']([A-Za-z0-9_.-]{1,64})["']\s+$/;
const SCHEME_WORDS: ReadonlySet<string> = new Set([
  'bearer',
  'basic',
  'token',
  'digest',
  'negotiate',
  'bot',
  'apikey',
]);
const MAX_NAME = 64;
const MAX_VALUE = 4096;

function isNameChar(c: number): boolean {
  return (
    isAsciiLetter(c) || isDigit(c) || c === 95 || c === 45 || c === 46 || (c > 127 && isNonAsciiLetter(c))
  );
}

/**
 * The name with the word of letters before it, across one space: `API Key: …`, `Secret Key = …`,
 * `mot de passe : …` (a label of two words, whose last alone, `Key`, is no secret); undefined when
 * no such word stands there.
 */
function withWordBefore(text: string, nameStart: number, nameEnd: number): string | undefined {
  if (nameStart < 3 || text.charCodeAt(nameStart - 1) !== 32) return undefined;
  let k = nameStart - 2;
  while (k >= 0 && nameStart - k <= 24 && isAsciiLetter(text.charCodeAt(k))) k--;
  if (k === nameStart - 2 || (k >= 0 && isNameChar(text.charCodeAt(k)))) return undefined;
  return text.slice(k + 1, nameEnd);
}

/** Ends an unquoted value wherever it stands: white space, control, a quote, `\\`, `<`. */
function endsValue(c: number): boolean {
  return c <= 32 || c === 34 || c === 39 || c === 96 || c === 92 || c === 60;
}

/** `,` `;` `&` `)` `]` `}` `>`: they end an unquoted value only where they separate (endOfValue). */
function isPunct(c: number): boolean {
  return c === 44 || c === 59 || c === 38 || c === 41 || c === 93 || c === 125 || c === 62;
}

/**
 * Where the unquoted value starting at `from` ends. After `=` (query strings, cookies, connection
 * strings) `,` `;` `)` `]` `}` `>` end it, and `&` does where the next parameter starts (`&name=`,
 * `&amp;`). After `:` (headers, prose, YAML) punctuation ends it only as a closing run before white
 * space or the end (`password: Tr0ub4dor&3,` keeps `Tr0ub4dor&3`).
 */
function endOfValue(text: string, from: number, limit: number, afterEquals: boolean): number {
  let at = from;
  while (at < limit) {
    const c = text.charCodeAt(at);
    if (endsValue(c)) return at;
    if (isPunct(c)) {
      if (afterEquals && (c !== 38 || startsParameter(text, at + 1))) return at;
      let k = at + 1;
      while (k < text.length && isPunct(text.charCodeAt(k))) k++;
      if (k >= text.length || endsValue(text.charCodeAt(k))) return at;
      at = k;
      continue;
    }
    at++;
  }
  return at;
}

/** True when a query parameter (`name=`) or `amp;` starts at `at`. */
function startsParameter(text: string, at: number): boolean {
  if (text.startsWith('amp;', at)) return true;
  let k = at;
  while (
    k < text.length &&
    k - at < MAX_NAME &&
    (isNameChar(text.charCodeAt(k)) || text.charCodeAt(k) === 91 || text.charCodeAt(k) === 93)
  )
    k++;
  return k > at && text.charCodeAt(k) === 61;
}

/**
 * The value of a sensitive pair whose separator (`:` or `=`) is at `sep`, as `[start, end]`, or
 * `[-1, -1]`. `out[2]` is set to 1 when the name mentions AWS.
 */
export function matchSecretPair(
  text: string,
  sep: number,
  names: SensitiveNames,
  out: [number, number, number],
): void {
  out[0] = -1;
  out[1] = -1;
  out[2] = 0;
  const n = text.length;
  const sepChar = text.charCodeAt(sep);
  let v = sep + 1;
  let j = sep - 1;
  if (sepChar === 61 /* = */) {
    const prev = j >= 0 ? text.charCodeAt(j) : 0;
    const next = v < n ? text.charCodeAt(v) : 0;
    if (next === 61 || prev === 61 || prev === 33 || prev === 60 || prev === 62) return; // == != <= >=
    if (prev === 58) j--; // :=
    if (next === 62) v++; // =>
  } else if (v < n && (text.charCodeAt(v) === 58 || text.charCodeAt(v) === 47 || text.charCodeAt(v) === 61)) {
    return; // :: and :// are not pairs; := is judged at its =
  }
  while (j >= 0 && sep - j < 4 && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j--;
  if (j < 0) return;
  let nameStart: number;
  let nameEnd: number;
  let quoted = false;
  const q = text.charCodeAt(j);
  if (q === 34 || q === 39) {
    quoted = true;
    nameEnd = j;
    if (nameEnd > 0 && text.charCodeAt(nameEnd - 1) === 92) nameEnd--; // \" of JSON inside a string
    let k = nameEnd - 1;
    while (k >= 0 && nameEnd - k <= MAX_NAME && text.charCodeAt(k) !== q) k--;
    if (k < 0 || text.charCodeAt(k) !== q) return;
    nameStart = k + 1;
  } else {
    nameEnd = j + 1;
    let k = j;
    while (k >= 0 && nameEnd - k <= MAX_NAME && isNameChar(text.charCodeAt(k))) k--;
    nameStart = k + 1;
    // "[SECRET:pair]" and other markers are not names.
    if (k >= 0 && text.charCodeAt(k) === 91 /* [ */) return;
    // https://user:pass@host: the url detector judges user-info
    if (k >= 1 && text.charCodeAt(k) === 47 && text.charCodeAt(k - 1) === 47) return;
  }
  if (nameEnd - nameStart < 2 || nameEnd - nameStart > MAX_NAME) return;
  let name = text.slice(nameStart, nameEnd);
  // <add key="ApiSecret" value="..."/>: the value attribute takes its name from the key attribute
  if (name === 'value' && sepChar === 61) {
    const m = ATTR_NAME_RE.exec(text.slice(Math.max(0, nameStart - 100), nameStart));
    if (m !== null) name = m[1]!;
  }
  if (!names.isSensitive(name)) {
    const twoWords = quoted ? undefined : withWordBefore(text, nameStart, nameEnd);
    if (twoWords === undefined || !names.isSensitive(twoWords)) return;
  }
  // the value
  while (v < n && v - sep < 8 && (text.charCodeAt(v) === 32 || text.charCodeAt(v) === 9)) v++;
  if (v >= n) return;
  let c = text.charCodeAt(v);
  let vs: number;
  let ve: number;
  let escapedQuote = false;
  if (c === 92 && v + 1 < n && (text.charCodeAt(v + 1) === 34 || text.charCodeAt(v + 1) === 39)) {
    escapedQuote = true;
    v++;
    c = text.charCodeAt(v);
  }
  if (c === 34 || c === 39 || c === 96) {
    vs = v + 1;
    ve = vs;
    const limit = Math.min(n, vs + MAX_VALUE);
    while (ve < limit) {
      const d = text.charCodeAt(ve);
      if (d === c) {
        if (escapedQuote) {
          if (text.charCodeAt(ve - 1) === 92) {
            ve--;
            break;
          }
        } else if (text.charCodeAt(ve - 1) !== 92) {
          break;
        }
      }
      if (d === 10 && !escapedQuote) break;
      ve++;
    }
  } else {
    if (c === 123 || c === 91) return; // an object or array: its own keys are judged
    vs = v;
    ve = v;
    const limit = Math.min(n, vs + MAX_VALUE);
    const afterEquals = sepChar === 61;
    if (/cookie/i.test(name)) {
      // Cookie: a=1; b=2 — every cookie of the header
      while (ve < limit && text.charCodeAt(ve) !== 10 && text.charCodeAt(ve) !== 13) ve++;
    }
    ve = endOfValue(text, ve, limit, afterEquals);
    // "Authorization: Basic dXNl..." — the credential is the word after the scheme.
    if (ve < n && text.charCodeAt(ve) === 32 && SCHEME_WORDS.has(text.slice(vs, ve).toLowerCase())) {
      let t = ve + 1;
      while (t < n && text.charCodeAt(t) === 32) t++;
      const te = endOfValue(text, t, limit, afterEquals);
      if (te === t) return; // "Bearer <token>": a placeholder, or nothing
      vs = t;
      ve = te;
    } else if (!quoted && sepChar === 58 && isProse(text, vs, ve)) {
      return;
    }
    // a sentence's full stop is not part of the value
    while (ve > vs && text.charCodeAt(ve - 1) === 46) ve--;
  }
  if (ve <= vs) return;
  // "Bearer xyz" inside quotes: the credential is what follows the scheme
  const sp = text.indexOf(' ', vs);
  if (sp > vs && sp < ve && sp - vs <= 9 && SCHEME_WORDS.has(text.slice(vs, sp).toLowerCase())) {
    vs = sp + 1;
    while (vs < ve && text.charCodeAt(vs) === 32) vs++;
    if (ve <= vs) return;
  }
  const value = text.slice(vs, Math.min(ve, vs + 64));
  if (ve - vs <= 40 && isPlaceholder(value)) return;
  if (!hasAlnum(text, vs, ve)) return; // `)`, `--`: punctuation is not a secret
  if (YAML_TAG_RE.test(value) && text.charCodeAt(ve) === 32) return;
  if (STATE_WORDS.has(value.toLowerCase()) || CODE_WORDS.has(value) || CODE_REF_RE.test(value)) return;
  if (value.includes('(')) return; // a call: getToken(), os.getenv("X")
  if (ENV_REF_RE.test(value)) return;
  out[0] = vs;
  out[1] = ve;
  out[2] = name.toLowerCase().includes('aws') ? 1 : 0;
}

function hasAlnum(text: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (isAsciiLetter(c) || isDigit(c) || c > 127) return true;
  }
  return false;
}

/**
 * A word of letters, lower-case after the first, followed by more words: "Password: must be at
 * least 8 characters", "Token: Expires in one hour".
 */
function isProse(text: string, vs: number, ve: number): boolean {
  if (!isAsciiLetter(text.charCodeAt(vs))) return false;
  for (let i = vs + 1; i < ve; i++) {
    const c = text.charCodeAt(i);
    if (c < 97 || c > 122) return false;
  }
  return ve < text.length && text.charCodeAt(ve) === 32 && isAsciiLetter(text.charCodeAt(ve + 1));
}

const NETRC_LOGIN_RE = /(?:^|\s)(?:machine[ \t]+\S+|default)[ \t]+login[ \t]+\S+[ \t]+$/;

/**
 * The password of a `.netrc` line, `machine <host> login <user> password <secret>` (no `=` or `:`
 * for matchSecretPair to start from), given `at`, where the word `password` starts: it counts only
 * right after `machine <host> login <user>` (or `default login <user>`), and the value runs to
 * white space.
 */
export function matchNetrcPassword(text: string, at: number, out: [number, number]): void {
  out[0] = -1;
  out[1] = -1;
  const end = at + 8; // 'password'
  if (end >= text.length || (text.charCodeAt(end) !== 32 && text.charCodeAt(end) !== 9)) return;
  if (!NETRC_LOGIN_RE.test(text.slice(Math.max(0, at - 200), at))) return;
  let vs = end;
  while (vs < text.length && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
  let ve = vs;
  while (ve < text.length && text.charCodeAt(ve) > 32) ve++;
  if (ve === vs || (ve - vs <= 40 && PLACEHOLDER_RE.test(text.slice(vs, ve)))) return;
  out[0] = vs;
  out[1] = ve;
}

/** True when `text[s, e)` holds a character other than an ASCII letter. */
function hasNonLetter(text: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (!isAsciiLetter(text.charCodeAt(i))) return true;
  return false;
}

/** A character that may stand before a command-line flag: start, white space, a quote, `(` `[` `,`. */
function beforeFlag(c: number): boolean {
  return c <= 32 || c === 34 || c === 39 || c === 96 || c === 40 || c === 91 || c === 44;
}

/**
 * The value of a command-line flag whose name is sensitive, given with a space, at `at` (where its
 * `--` starts): `--password s3cr3t`, `--db-password "two words"`, `--api-key sk_1234`. The
 * `--name=value` form is a pair (matchSecretPair). Left alone: another flag (`--token --verbose`),
 * `$VAR` and `$(cmd)`, placeholders, and a bare word of letters (`the --password option`) or of
 * under 4 characters (`--pass 2`); a quoted value is taken whole.
 */
export function matchFlagSecret(
  text: string,
  at: number,
  names: SensitiveNames,
  out: [number, number],
): void {
  out[0] = -1;
  out[1] = -1;
  const n = text.length;
  if (at > 0 && !beforeFlag(text.charCodeAt(at - 1))) return;
  const ns = at + 2;
  let k = ns;
  while (k < n && k - ns <= MAX_NAME && isNameChar(text.charCodeAt(k)) && text.charCodeAt(k) !== 46) k++;
  if (k - ns < 2 || k - ns > MAX_NAME || (text.charCodeAt(k) !== 32 && text.charCodeAt(k) !== 9)) return;
  if (!names.isSensitive(text.slice(ns, k))) return;
  let vs = k;
  while (vs < n && vs - k < 4 && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
  if (vs >= n) return;
  // "--password " + pw: the quote closes the string literal the flag stands in
  if (at > 0 && text.charCodeAt(at - 1) === text.charCodeAt(vs)) return;
  flagValue(
    text,
    vs,
    out,
    (s, e) => e - s >= 4 && hasNonLetter(text, s, e) && !METAVAR_RE.test(text.slice(s, e)),
  );
}

/**
 * The value of a flag, starting at `vs`, into `out` (-1 when there is none): a quoted one whole,
 * up to its closing quote on the line; a bare one to the next space or quote, less a sentence's
 * trailing punctuation, when `bareOk` accepts it. No value: another flag, no letter or digit, a
 * placeholder, `$VAR`.
 */
function flagValue(
  text: string,
  vs: number,
  out: [number, number],
  bareOk: (vs: number, ve: number) => boolean,
): void {
  const q = text.charCodeAt(vs);
  const limit = Math.min(text.length, vs + MAX_VALUE);
  let ve: number;
  if (q === 34 || q === 39) {
    vs++;
    ve = vs;
    while (ve < limit && text.charCodeAt(ve) !== q && text.charCodeAt(ve) !== 10) ve++;
    if (ve >= limit || text.charCodeAt(ve) !== q) return;
  } else {
    if (q === 45) return; // the next flag
    ve = vs;
    while (ve < limit && !endsValue(text.charCodeAt(ve))) ve++;
    while (ve > vs && isTrailingPunct(text.charCodeAt(ve - 1))) ve--;
    if (!bareOk(vs, ve)) return;
  }
  if (ve <= vs || !hasAlnum(text, vs, ve)) return;
  const value = text.slice(vs, Math.min(ve, vs + 64));
  if ((ve - vs <= 40 && isPlaceholder(value)) || ENV_REF_RE.test(value)) return;
  out[0] = vs;
  out[1] = ve;
}

/** `.` `,` `;` `:` `)` `]`: end a sentence or a list around a flag's value. */
function isTrailingPunct(c: number): boolean {
  return c === 46 || c === 44 || c === 59 || c === 58 || c === 41 || c === 93;
}

/**
 * A quoted password after the word `password` in prose, given `at`, where the word starts:
 * "retry with password 'Kx9!mQ2#'". The quoted text must be one word of 4–64 characters holding
 * a letter and a digit or symbol ("the password 'reset' link" is left alone).
 */
export function matchQuotedPassword(text: string, at: number, out: [number, number]): void {
  out[0] = -1;
  out[1] = -1;
  if (at > 0 && isAsciiLetter(text.charCodeAt(at - 1))) return;
  let vs = at + 8;
  if (text.charCodeAt(vs) !== 32) return;
  while (vs < text.length && text.charCodeAt(vs) === 32 && vs - at < 12) vs++;
  const q = text.charCodeAt(vs);
  if (q !== 34 && q !== 39 && q !== 96) return;
  vs++;
  let ve = vs;
  while (ve < text.length && ve - vs <= 64 && text.charCodeAt(ve) > 32 && text.charCodeAt(ve) !== q) ve++;
  if (text.charCodeAt(ve) !== q || ve - vs < 4 || ve - vs > 64) return;
  let letter = false;
  let other = false;
  for (let i = vs; i < ve; i++) {
    if (isAsciiLetter(text.charCodeAt(i))) letter = true;
    else other = true;
  }
  const value = text.slice(vs, ve);
  if (!letter || !other || isPlaceholder(value) || ENV_REF_RE.test(value)) return;
  out[0] = vs;
  out[1] = ve;
}

/**
 * The command a flag at `at` belongs to: the text before it back to the last line break, `|`, `;`
 * or `&` (at most 200 characters), so that `curl … && docker exec -u a:b` judges `docker exec`.
 */
function commandBefore(text: string, at: number): string {
  let k = at - 1;
  for (; k >= 0 && at - k <= 200; k--) {
    const c = text.charCodeAt(k);
    if (c === 10 || c === 124 || c === 59 || c === 38) break;
  }
  return text.slice(k + 1, at);
}

const HTTP_CLIENT_RE = /(?:^|[\s"'`(|;&])(?:curl|wget|http|https|xh|httpie)(?:\.exe)?\s/;

/**
 * The password of `-u user:password` or `--user user:password` (curl, wget, httpie), given
 * `at`, where the `-u` or `--user` starts: the part after the colon. `-u 1000:1000` (a uid and
 * gid) and `-u bob` (no password) are left alone.
 */
export function matchUserFlag(text: string, at: number, out: [number, number]): void {
  out[0] = -1;
  out[1] = -1;
  if (at > 0 && !beforeFlag(text.charCodeAt(at - 1))) return;
  // only an HTTP client's: `docker exec -u user:group`, `sudo -u` name a user and a group
  if (!HTTP_CLIENT_RE.test(commandBefore(text, at))) return;
  let k = at + (text.startsWith('--user', at) ? 6 : 2);
  if (text.charCodeAt(k) !== 32) return;
  while (k < text.length && text.charCodeAt(k) === 32 && k - at < 12) k++;
  const q = text.charCodeAt(k);
  const quoted = q === 34 || q === 39;
  if (quoted) k++;
  let colon = -1;
  let e = k;
  while (e < text.length && e - k < 256) {
    const c = text.charCodeAt(e);
    if (quoted ? c === q || c === 10 : endsValue(c)) break;
    if (c === 58 && colon < 0) colon = e;
    e++;
  }
  if (colon <= k || e - colon < 2) return;
  const vs = colon + 1;
  let digits = true;
  for (let i = k; i < e; i++) if (i !== colon && !isDigit(text.charCodeAt(i))) digits = false;
  const value = text.slice(vs, e);
  if (digits || !hasAlnum(text, vs, e) || isPlaceholder(value) || ENV_REF_RE.test(value)) return;
  out[0] = vs;
  out[1] = e;
}

/** Registry logins and sshpass: their `-p` is a password (in most tools it is a port or a path). */
const LOGIN_RE =
  /(?:^|[\s"'`(|;&])(?:(?:docker|podman|buildah|skopeo|nerdctl|oras)(?:\.exe)?\s(?:[^\n|;&]*\s)?login|helm\s+registry\s+login|sshpass)\s/;
/** MySQL's and MariaDB's clients: the password is attached to `-p` (`-p name` prompts, then names a database). */
const MYSQL_RE =
  /(?:^|[\s"'`(|;&])(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mariadb|mariadb-dump)(?:\.exe)?\s/;

/**
 * The password given to `-p`, at `at` (where the `-p` starts), where the command on that line
 * takes one there: `docker login -u bot -p s3cr3t`, `sshpass -p 'pw' ssh host` (after a space),
 * `mysql -u root -ps3cr3t` (attached). Left alone: `-p` of any other command (`ssh -p 2222`,
 * `mkdir -p`), `mysql -p dbname` (a prompt, then a database), another flag, `$VAR`, placeholders.
 */
export function matchPasswordFlag(text: string, at: number, out: [number, number]): void {
  out[0] = -1;
  out[1] = -1;
  if (at > 0 && !beforeFlag(text.charCodeAt(at - 1))) return;
  const before = commandBefore(text, at);
  let vs = at + 2;
  if (text.charCodeAt(vs) === 32) {
    if (!LOGIN_RE.test(before)) return;
    while (vs < text.length && text.charCodeAt(vs) === 32 && vs - at < 12) vs++;
  } else if (!MYSQL_RE.test(before)) return;
  flagValue(text, vs, out, () => true);
}

/**
 * Lower-case words of up to 15 letters, looked up without allocating: a table of the lengths and
 * first letters they have answers most words, and only a word that passes it is compared in full.
 * A table of their last two characters lets a caller skip walking back over a word that cannot
 * be one of them (`mayEndAt`).
 */
class WordSet {
  readonly #starts = new Uint8Array(16 * 32);
  readonly #ends = new Uint8Array(64 * 64);
  /** Letters in the longest word. */
  readonly maxLength: number;
  constructor(private readonly words: readonly string[]) {
    this.maxLength = Math.max(...words.map((w) => w.length));
    for (const w of words) {
      this.#starts[(w.length << 5) | (w.charCodeAt(0) & 31)] = 1;
      this.#ends[endKey(w, w.length)] = 1;
    }
  }

  /** False when the word ending at `e` (exclusive) cannot be one of these: its last two characters say so. */
  mayEndAt(text: string, e: number): boolean {
    return e >= 2 && this.#ends[endKey(text, e)] === 1;
  }

  /** True when `text[s, e)` is one of the words, in any case. */
  has(text: string, s: number, e: number): boolean {
    const n = e - s;
    if (n <= 0 || n > 15 || this.#starts[(n << 5) | (text.charCodeAt(s) & 31)] === 0) return false;
    for (const w of this.words) {
      if (w.length !== n) continue;
      let i = 0;
      while (i < n && (text.charCodeAt(s + i) | 0x20) === w.charCodeAt(i)) i++;
      if (i === n) return true;
    }
    return false;
  }
}

/** The last two characters before `e`, case folded, 6 bits each (a few pairs share a key: it only filters). */
function endKey(text: string, e: number): number {
  return (((text.charCodeAt(e - 2) | 0x20) & 63) << 6) | ((text.charCodeAt(e - 1) | 0x20) & 63);
}

/** Words between a password word and its value in prose: "password is now", "was changed to". */
const PROSE_FILLER_LIST = [
  'is',
  'was',
  'now',
  'still',
  'set',
  'changed',
  'reset',
  'updated',
  'to',
  'be',
  'will',
  'has',
  'been',
  'became',
  'remains',
  'ist',
  'war',
  'lautet',
];
const PROSE_FILLERS = new WordSet(PROSE_FILLER_LIST);
/** The words a prose password follows. */
const PASSWORD_LIST = ['password', 'passwort', 'passwd', 'passcode', 'passphrase', 'kennwort'];
const PASSWORD_WORDS = new WordSet(PASSWORD_LIST);
/** Every word the look-back from a prose password may meet. */
const PROSE_WORDS = new WordSet([...PROSE_FILLER_LIST, ...PASSWORD_LIST]);

/** Where {@link wordBefore} writes the word it found. */
const word: [number, number] = [-1, -1];

/**
 * The word of ASCII letters and digits before the gap that ends at `i` (spaces and `:`, with
 * `marks` also `#` and `-`; at most 8 characters), as `[start, end)` in {@link word}. False when
 * there is none, or it cannot be one of `words`: its last two characters end none of them (checked
 * before walking over it), or it is longer than the longest.
 */
function wordBefore(text: string, i: number, marks: boolean, words: WordSet): boolean {
  let g = i;
  while (g > 0 && i - g < 8) {
    const c = text.charCodeAt(g - 1);
    if (c !== 32 && c !== 58 && !(marks && (c === 35 || c === 45))) break;
    g--;
  }
  if (g === i || !words.mayEndAt(text, g)) return false;
  const max = words.maxLength;
  let ws = g;
  while (
    ws > 0 &&
    g - ws <= max &&
    (isAsciiLetter(text.charCodeAt(ws - 1)) || isDigit(text.charCodeAt(ws - 1)))
  )
    ws--;
  if (ws === g || g - ws > max) return false;
  word[0] = ws;
  word[1] = g;
  return true;
}

/** "6-digit", "2fa-protected", "case-sensitive": a hyphenated description; or a URL ("is at https://…"). */
const DESCRIPTION_RE = /^\d+-[A-Za-z]+$|-[a-z]{3,}$|:\/\//;

function isQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96;
}

/**
 * A prose password around the token starting at `s` (a word holding a digit, met by the numeric
 * pass): going back to the start of its word, then over one to four filler words
 * ({@link wordBefore}), it must reach a password word; then {@link matchProsePassword} reads the value
 * forwards from it. Starting from the token keeps a clean text free of this work, as for the
 * keyword secrets (keyword-secrets.ts); the price: a password without a digit is not found.
 */
export function matchProsePasswordBefore(text: string, s: number, out: [number, number]): void {
  out[0] = -1;
  out[1] = -1;
  // back to the value's start: "Geheim#42" holds the token "42", a quoted value its quote
  let i = s;
  while (i > 0 && s - i < 64 && text.charCodeAt(i - 1) > 32) i--;
  for (let words = 0; words <= 4; words++) {
    if (!wordBefore(text, i, false, PROSE_WORDS)) return;
    const [ws, g] = word;
    if (words > 0 && PASSWORD_WORDS.has(text, ws, g)) {
      matchProsePassword(text, g, out);
      return;
    }
    if (!PROSE_FILLERS.has(text, ws, g)) return;
    i = ws;
  }
}

/**
 * A password stated in prose after a password word ending at `wordEnd` (password, passwd,
 * passcode, passphrase, Passwort, Kennwort, in any case): "my password is Summer2024!", "the
 * password was changed to Tr0ub4dor&3.", "Passwort ist Geheim#42". One to
 * four filler words (is, was, now, set, changed, to…, the last may end in `:`) come first; the
 * value is the next word, 4–64 characters, holding a letter and a digit or a symbol, without the
 * sentence's closing `.`, `,`, `;`, `:` or `)`, or a quoted word. Left alone: words of letters
 * only ("is incorrect", "is set to expire"), placeholders, `$VAR`, and hyphenated descriptions
 * ("is 2fa-protected").
 */
export function matchProsePassword(text: string, wordEnd: number, out: [number, number]): void {
  out[0] = -1;
  out[1] = -1;
  let at = wordEnd;
  let fillers = 0;
  for (;;) {
    if (text.charCodeAt(at) !== 32) return;
    while (text.charCodeAt(at) === 32 && at - wordEnd < 64) at++;
    let e = at;
    while (e < text.length && isAsciiLetter(text.charCodeAt(e)) && e - at <= 8) e++;
    const colon = text.charCodeAt(e) === 58;
    if (e === at || !PROSE_FILLERS.has(text, at, e)) break;
    fillers++;
    at = colon ? e + 1 : e;
    if (colon || fillers === 4) {
      while (text.charCodeAt(at) === 32 && at - wordEnd < 64) at++;
      break;
    }
  }
  if (fillers === 0) return;
  const q = text.charCodeAt(at);
  let vs = at;
  let ve: number;
  if (isQuote(q)) {
    vs++;
    ve = vs;
    while (ve < text.length && ve - vs <= 64 && text.charCodeAt(ve) > 32 && text.charCodeAt(ve) !== q) ve++;
    if (text.charCodeAt(ve) !== q) return;
  } else {
    ve = vs;
    while (ve < text.length && ve - vs <= 64 && text.charCodeAt(ve) > 32) ve++;
    while (ve > vs && isTrailingPunct(text.charCodeAt(ve - 1))) ve--;
  }
  if (ve - vs < 4 || ve - vs > 64) return;
  let letter = false;
  let other = false;
  for (let i = vs; i < ve; i++) {
    const c = text.charCodeAt(i);
    if (isAsciiLetter(c) || c > 127) letter = true;
    else if (c !== 45 && c !== 39) other = true;
  }
  const value = text.slice(vs, ve);
  if (!letter || !other || isPlaceholder(value) || ENV_REF_RE.test(value) || DESCRIPTION_RE.test(value))
    return;
  out[0] = vs;
  out[1] = ve;
}

/** Words that name a card's security code. */
const CARD_CODE_LIST = ['cvv', 'cvc', 'cvv2', 'cvc2', 'csc', 'cvn'];
const CARD_CODE_WORDS = new WordSet(CARD_CODE_LIST);
const CODE_FILLER_LIST = ['is', 'was', 'code', 'number', 'no'];
const CODE_FILLERS = new WordSet(CODE_FILLER_LIST);
/** Every word the look-back from a card code may meet. */
const CARD_WORDS = new WordSet([...CARD_CODE_LIST, ...CODE_FILLER_LIST]);
const CODE = new WordSet(['code']);
/** `security` right before a `code`: "security code 321". */
const SECURITY_BEFORE_RE = /(?:^|[^A-Za-z])security $/i;

/**
 * True when the 3 or 4 digits at `s` follow a card security code word in prose, across gaps of
 * spaces, `:`, `#` or `-` ({@link wordBefore}) and at most two of is / was / code / number / no: "cvv 123",
 * "CVC is 4321", "CVV2 #987", "security code 321" (`code` after `security`).
 */
export function isCardCodeAt(text: string, s: number): boolean {
  let i = s;
  for (let words = 0; words <= 2; words++) {
    if (!wordBefore(text, i, true, CARD_WORDS)) return false;
    const [ws, g] = word;
    if (
      CARD_CODE_WORDS.has(text, ws, g) ||
      (CODE.has(text, ws, g) && SECURITY_BEFORE_RE.test(text.slice(Math.max(0, ws - 10), ws)))
    )
      return true;
    if (!CODE_FILLERS.has(text, ws, g)) return false;
    i = ws;
  }
  return false;
}
