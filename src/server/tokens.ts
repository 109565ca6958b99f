/**
 * Collector bearer tokens: one per producer or reader, each with a name and scopes. A token is 32
 * random bytes (256 bits), shown once at creation; the trail directory keeps only its SHA-256 in
 * `collector-tokens.json` (0600). With that much entropy a plain hash is enough: there is nothing
 * to guess, so no slow password hash is needed. Lookups compare every stored hash in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuditError } from '../errors.js';
import { ensureDir, readIfExists, writeFileAtomic } from '../store/index.js';

/**
 * What a token may do. `read:content` shows content payloads; `admin` reads metrics; `witness`
 * pushes and reads the checkpoints of other trails this collector witnesses.
 */
export type TokenScope = 'ingest' | 'read' | 'read:content' | 'admin' | 'witness';

/** Every scope, in the order they are documented. */
export const TOKEN_SCOPES: readonly TokenScope[] = ['ingest', 'read', 'read:content', 'admin', 'witness'];

/** The stored record of a token: never the token itself. */
export interface TokenRecord {
  /** Short public id of the token (for listing and revoking). */
  id: string;
  /** The producer's or reader's name, stamped on what it sends and reads. */
  name: string;
  scopes: TokenScope[];
  /** Hex SHA-256 of the token text. */
  sha256: string;
  created: string;
}

/** The file holding the token records of the trail in `dir`. */
export function tokenFile(dir: string): string {
  return path.join(path.resolve(dir), 'collector-tokens.json');
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const TOKEN_PREFIX = 'stk_';

/**
 * Checks a scope list (`ingest,read`).
 * @throws AuditError USAGE naming the unknown scope.
 */
export function parseScopes(text: string): TokenScope[] {
  const scopes = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (scopes.length === 0)
    throw new AuditError('USAGE', 'scopes: expected at least one scope', { field: 'scopes' });
  for (const s of scopes) {
    if (!(TOKEN_SCOPES as readonly string[]).includes(s)) {
      throw new AuditError(
        'USAGE',
        `scopes: unknown scope ${JSON.stringify(s)} (${TOKEN_SCOPES.join(', ')})`,
        {
          field: 'scopes',
        },
      );
    }
  }
  return [...new Set(scopes)] as TokenScope[];
}

/** The token records of the trail in `dir` (none when the file is missing). */
export function loadTokens(dir: string): TokenRecord[] {
  const text = readIfExists(tokenFile(dir));
  if (text === undefined) return [];
  try {
    const doc = JSON.parse(text) as { tokens?: unknown };
    if (!Array.isArray(doc.tokens)) throw new Error('no tokens list');
    return doc.tokens as TokenRecord[];
  } catch {
    throw new AuditError('CONFIG_INVALID', `${tokenFile(dir)}: not a token file`, { file: tokenFile(dir) });
  }
}

function saveTokens(dir: string, tokens: readonly TokenRecord[]): void {
  ensureDir(path.resolve(dir));
  writeFileAtomic(tokenFile(dir), `${JSON.stringify({ version: 1, tokens }, null, 2)}\n`);
  // writeFileAtomic creates 0600; an older file replaced by rename keeps that mode.
  fs.chmodSync(tokenFile(dir), 0o600);
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Creates a token for `name` with `scopes`, stores its hash, and returns the token text: the only
 * time it is ever seen.
 * @throws AuditError USAGE for a bad name or scope list, or a name already in use.
 */
export function createToken(
  dir: string,
  options: { name: string; scopes: readonly TokenScope[] },
): { token: string; record: TokenRecord } {
  if (!NAME_RE.test(options.name)) {
    throw new AuditError('USAGE', 'name: 1-64 letters, digits, ".", "_", "@" or "-"', { field: 'name' });
  }
  if (options.scopes.length === 0)
    throw new AuditError('USAGE', 'scopes: expected at least one scope', { field: 'scopes' });
  const tokens = loadTokens(dir);
  if (tokens.some((t) => t.name === options.name)) {
    throw new AuditError('USAGE', `name: a token named ${JSON.stringify(options.name)} exists`, {
      field: 'name',
    });
  }
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const record: TokenRecord = {
    id: randomBytes(6).toString('hex'),
    name: options.name,
    scopes: [...options.scopes],
    sha256: sha256Hex(token),
    created: new Date().toISOString(),
  };
  saveTokens(dir, [...tokens, record]);
  return { token, record };
}

/**
 * Removes the token named `name` (or with that id).
 * @throws AuditError NOT_FOUND.
 */
export function revokeToken(dir: string, nameOrId: string): TokenRecord {
  const tokens = loadTokens(dir);
  const found = tokens.find((t) => t.name === nameOrId || t.id === nameOrId);
  if (found === undefined)
    throw new AuditError('NOT_FOUND', `no token named ${JSON.stringify(nameOrId)}`, { field: 'name' });
  saveTokens(
    dir,
    tokens.filter((t) => t !== found),
  );
  return found;
}

/** Token records held in memory for lookups by the collector. */
export class TokenSet {
  private records: Array<{ record: TokenRecord; hash: Buffer }>;

  constructor(records: readonly TokenRecord[]) {
    this.records = records.map((record) => ({ record, hash: Buffer.from(record.sha256, 'hex') }));
  }

  /** Loads the records of the trail in `dir`. */
  static load(dir: string): TokenSet {
    return new TokenSet(loadTokens(dir));
  }

  get size(): number {
    return this.records.length;
  }

  /**
   * The record of the presented token, or undefined. Every stored hash is compared, in constant
   * time, whatever matches first: the time taken says nothing about which token was close.
   */
  find(presented: string): TokenRecord | undefined {
    const hash = createHash('sha256').update(presented, 'utf8').digest();
    let found: TokenRecord | undefined;
    for (const r of this.records) {
      if (r.hash.length === hash.length && timingSafeEqual(r.hash, hash) && found === undefined)
        found = r.record;
    }
    return found;
  }
}
