/**
 * A minimal HashiCorp Vault HTTP client on Node's built-in fetch: KV version 2 read and
 * check-and-set write, Transit encrypt and decrypt. Request and response shapes follow Vault's
 * API documentation (api-docs/secret/kv/kv-v2, api-docs/secret/transit, api-docs "Error
 * response"). The token travels only in the `X-Vault-Token` header and never appears in an
 * error; errors carry the method, the path and the HTTP status.
 */
import { inspect } from 'node:util';
import { AuditError } from '../errors.js';

/** Where Vault is and what to use there. */
export interface VaultConfig {
  /** `VAULT_ADDR`, e.g. `https://vault.example:8200`. */
  addr: string;
  /** `VAULT_TOKEN`. */
  token: string;
  /** `VAULT_NAMESPACE` (Vault Enterprise), sent as `X-Vault-Namespace`. */
  namespace?: string;
  /** KV v2 mount; default `secret`. */
  kvMount?: string;
  /** Path of the master key secret in the KV mount, e.g. `sealtrail/prod`. */
  kvPath?: string;
  /** Transit mount; default `transit`. */
  transitMount?: string;
  /** Transit key that wraps per-subject data keys. */
  transitKey?: string;
  /** Per request; default 10 000 ms. */
  timeoutMs?: number;
  /**
   * Allow `http:` to a host other than loopback (the token would cross the network in the
   * clear). Default false.
   */
  allowInsecureHttp?: boolean;
}

/** A KV v2 secret version. */
export interface KvSecret {
  data: Record<string, unknown>;
  version: number;
}

const PATH_RE = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const CIPHERTEXT_RE = /^vault:v[1-9][0-9]{0,8}:[A-Za-z0-9+/]+={0,2}$/;

/** A client for one Vault address and token. */
export class VaultClient {
  readonly #token: string;
  readonly #base: string;
  readonly #namespace: string | undefined;
  readonly #timeoutMs: number;
  readonly kvMount: string;
  readonly kvPath: string | undefined;
  readonly transitMount: string;
  readonly transitKey: string | undefined;

  /** @throws AuditError CONFIG_INVALID for a bad address, token, mount or path. */
  constructor(config: VaultConfig) {
    let url: URL;
    try {
      url = new URL(config.addr);
    } catch {
      throw new AuditError('CONFIG_INVALID', 'VAULT_ADDR: not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new AuditError('CONFIG_INVALID', 'VAULT_ADDR: expected an http or https URL');
    }
    if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname) && config.allowInsecureHttp !== true) {
      throw new AuditError(
        'CONFIG_INVALID',
        `VAULT_ADDR ${url.origin}: plain http only to a loopback address (the token would travel in the clear); use https`,
      );
    }
    if (typeof config.token !== 'string' || config.token === '' || /[\r\n]/.test(config.token)) {
      throw new AuditError('CONFIG_INVALID', 'VAULT_TOKEN: not set');
    }
    this.#base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.#token = config.token;
    this.#namespace = config.namespace;
    this.#timeoutMs = config.timeoutMs ?? 10_000;
    this.kvMount = checkPath(config.kvMount ?? 'secret', 'kv mount');
    this.kvPath = config.kvPath === undefined ? undefined : checkPath(config.kvPath, 'kv path');
    this.transitMount = checkPath(config.transitMount ?? 'transit', 'transit mount');
    this.transitKey =
      config.transitKey === undefined ? undefined : checkPath(config.transitKey, 'transit key');
  }

  /** The Vault address (origin and path prefix), for messages. */
  get addr(): string {
    return this.#base;
  }

  /**
   * Reads the latest version of the KV v2 secret at `kvPath`: `GET /v1/<mount>/data/<path>`.
   * @throws AuditError KEY_NOT_FOUND (404), KEY_PROVIDER_ERROR (403, other statuses, network),
   *   KEY_INVALID (response shape).
   */
  async readKv(): Promise<KvSecret> {
    const where = `${this.kvMount}/data/${this.#kvPath()}`;
    const body = await this.#request('GET', where);
    const data = (body as { data?: { data?: unknown; metadata?: { version?: unknown } } }).data;
    if (data === null || typeof data?.data !== 'object' || data.data === null || Array.isArray(data.data)) {
      // A deleted or destroyed latest version answers 404, or data null with metadata.
      throw new AuditError('KEY_NOT_FOUND', `vault secret ${where}: no data in its latest version`);
    }
    const version = data.metadata?.version;
    if (typeof version !== 'number' || !Number.isSafeInteger(version)) {
      throw new AuditError('KEY_INVALID', `vault secret ${where}: metadata.version missing`);
    }
    return { data: data.data as Record<string, unknown>, version };
  }

  /**
   * Writes a new version of the KV v2 secret, only if the latest is still `cas` (check-and-set):
   * `POST /v1/<mount>/data/<path>` with `{options: {cas}, data}`.
   * @returns the new version.
   * @throws AuditError KEY_PROVIDER_ERROR (403, 400 on a lost check-and-set race, network).
   */
  async writeKv(data: Record<string, unknown>, cas: number): Promise<number> {
    const where = `${this.kvMount}/data/${this.#kvPath()}`;
    const body = await this.#request('POST', where, { options: { cas }, data });
    const version = (body as { data?: { version?: unknown } }).data?.version;
    if (typeof version !== 'number') {
      throw new AuditError('KEY_INVALID', `vault secret ${where}: write answered no version`);
    }
    return version;
  }

  /**
   * Encrypts with the Transit key: `POST /v1/<mount>/encrypt/<key>` `{plaintext: base64}`.
   * @returns Vault's ciphertext, `vault:v<n>:<base64>`.
   */
  async transitEncrypt(plaintext: Uint8Array): Promise<string> {
    const where = `${this.transitMount}/encrypt/${this.#transitKey()}`;
    const body = await this.#request('POST', where, { plaintext: Buffer.from(plaintext).toString('base64') });
    const ct = (body as { data?: { ciphertext?: unknown } }).data?.ciphertext;
    if (typeof ct !== 'string' || !CIPHERTEXT_RE.test(ct)) {
      throw new AuditError('KEY_INVALID', `vault ${where}: answered no vault:v ciphertext`);
    }
    return ct;
  }

  /**
   * Decrypts with the Transit key: `POST /v1/<mount>/decrypt/<key>` `{ciphertext}`.
   * @throws AuditError DECRYPT_FAILED when Vault refuses the ciphertext (400); as {@link readKv}.
   */
  async transitDecrypt(ciphertext: string): Promise<Buffer> {
    const where = `${this.transitMount}/decrypt/${this.#transitKey()}`;
    if (!CIPHERTEXT_RE.test(ciphertext)) {
      throw new AuditError('DECRYPT_FAILED', `vault ${where}: not a vault:v ciphertext`);
    }
    const body = await this.#request('POST', where, { ciphertext }, 'DECRYPT_FAILED');
    const pt = (body as { data?: { plaintext?: unknown } }).data?.plaintext;
    if (typeof pt !== 'string') throw new AuditError('KEY_INVALID', `vault ${where}: answered no plaintext`);
    return Buffer.from(pt, 'base64');
  }

  toString(): string {
    return `[VaultClient ${this.#base}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }

  #kvPath(): string {
    if (this.kvPath === undefined)
      throw new AuditError('CONFIG_INVALID', 'vault: no KV path (SEALTRAIL_VAULT_PATH)');
    return this.kvPath;
  }

  #transitKey(): string {
    if (this.transitKey === undefined) {
      throw new AuditError('CONFIG_INVALID', 'vault: no Transit key (SEALTRAIL_VAULT_TRANSIT_KEY)');
    }
    return this.transitKey;
  }

  async #request(
    method: 'GET' | 'POST',
    where: string,
    payload?: unknown,
    badRequest: 'KEY_PROVIDER_ERROR' | 'DECRYPT_FAILED' = 'KEY_PROVIDER_ERROR',
  ): Promise<unknown> {
    const headers: Record<string, string> = { 'X-Vault-Token': this.#token, 'X-Vault-Request': 'true' };
    if (this.#namespace !== undefined && this.#namespace !== '')
      headers['X-Vault-Namespace'] = this.#namespace;
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    const what = `vault ${method} ${where}`;
    let res: Response;
    try {
      const init: RequestInit = {
        method,
        headers,
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      };
      if (payload !== undefined) init.body = JSON.stringify(payload);
      res = await fetch(`${this.#base}/v1/${where}`, init);
    } catch (err) {
      // No cause attached: fetch errors may describe the request.
      throw new AuditError(
        'KEY_PROVIDER_ERROR',
        `${what}: ${networkReason(err, this.#timeoutMs)} (${this.#base})`,
      );
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      // the body stopped or broke off: not an empty answer
      throw new AuditError(
        'KEY_PROVIDER_ERROR',
        `${what}: the answer broke off: ${networkReason(err, this.#timeoutMs)} (${this.#base})`,
        { status: res.status },
      );
    }
    if (res.status === 403) {
      throw new AuditError(
        'KEY_PROVIDER_ERROR',
        `${what}: permission denied (403); check VAULT_TOKEN and its policy`,
        {
          status: 403,
        },
      );
    }
    if (res.status === 404) {
      throw new AuditError('KEY_NOT_FOUND', `${what}: not found (404)`, { status: 404 });
    }
    if (res.status === 400) {
      throw new AuditError(badRequest, `${what}: refused (400${vaultMessage(text, this.#token)})`, {
        status: 400,
      });
    }
    if (res.status < 200 || res.status >= 300) {
      throw new AuditError(
        'KEY_PROVIDER_ERROR',
        `${what}: HTTP ${res.status}${vaultMessage(text, this.#token, ' ')}`,
        {
          status: res.status,
        },
      );
    }
    if (res.status === 204 || text === '') return {};
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AuditError('KEY_INVALID', `${what}: the answer is not JSON`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new AuditError('KEY_INVALID', `${what}: the answer is not a JSON object`);
    return body;
  }
}

function checkPath(value: string, what: string): string {
  if (
    typeof value !== 'string' ||
    !PATH_RE.test(value) ||
    value.split('/').some((s) => s === '.' || s === '..')
  ) {
    throw new AuditError(
      'CONFIG_INVALID',
      `vault ${what}: expected segments of letters, digits, '_', '.', '-'`,
    );
  }
  return value;
}

function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: unknown } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = e?.cause?.code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? `cannot connect (${code})` : 'cannot connect';
}

/**
 * Vault's first error message (`{"errors": [...]}`), shortened and stripped of control characters,
 * of the token and of anything shaped like key material (20+ base64 characters): a server or proxy
 * that quotes the request in its error would otherwise put the token (which may be short, `root`
 * on a dev server) or the keys of a KV write or a Transit call in it.
 */
function vaultMessage(text: string, token: string, sep = ': '): string {
  try {
    const first = (JSON.parse(text) as { errors?: unknown[] }).errors?.[0];
    if (typeof first !== 'string' || first === '') return '';
    const visible = (t: string) => t.replace(/[^\x20-\x7e]/g, ' ');
    const quoted = token === '' ? visible(first) : visible(first).split(visible(token)).join('[…]');
    const shown = quoted.replace(/[A-Za-z0-9+/_-]{20,}={0,2}/g, '[…]');
    return `${sep}${shown.slice(0, 200)}`;
  } catch {
    return '';
  }
}
