/**
 * `sealtrail token create|list|revoke`: the collector's bearer tokens. `create` prints the token
 * once (only its SHA-256 is kept, in collector-tokens.json, 0600); `list` shows names, ids, scopes
 * and creation times, never a token or its hash.
 */
import fs from 'node:fs';
import { AuditError } from '../errors.js';
import { renderVisible } from '../event/index.js';
import { createToken, loadTokens, parseScopes, revokeToken } from '../server/index.js';
import { DIR_OPTION, out, outJson, parseVerbArgs, trailDir } from './common.js';

export async function runToken(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'create') return runTokenCreate(rest);
  if (sub === 'list') return runTokenList(rest);
  if (sub === 'revoke') return runTokenRevoke(rest);
  throw new AuditError('USAGE', 'token: expected create, list or revoke');
}

async function runTokenCreate(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('token create', args, {
    ...DIR_OPTION,
    scopes: { type: 'string' },
    name: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.scopes === undefined) throw new AuditError('USAGE', 'token create: --scopes is required');
  const scopes = parseScopes(values.scopes);
  const name = values.name ?? `token-${Date.now().toString(36)}`;
  // the directory may not exist yet: the collector quick start creates tokens before `serve`
  const { token, record } = createToken(trailDir(values.dir), { name, scopes });
  if (values.json === true) {
    outJson({ token, id: record.id, name: record.name, scopes: record.scopes });
  } else {
    out(token);
    process.stderr.write(
      `token ${record.name} (${record.id}) with scopes ${record.scopes.join(',')}: shown once, keep it now\n`,
    );
  }
  return 0;
}

async function runTokenList(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('token list', args, { ...DIR_OPTION, json: { type: 'boolean' } });
  const tokens = loadTokens(tokenHome(values.dir)).map(({ id, name, scopes, created }) => ({
    id,
    name,
    scopes,
    created,
  }));
  if (values.json === true) outJson(tokens);
  else for (const t of tokens) out(`${t.id}  ${t.name}  ${t.scopes.join(',')}  ${t.created}`);
  return 0;
}

async function runTokenRevoke(args: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs('token revoke', args, { ...DIR_OPTION }, true);
  const target = positionals[0];
  if (target === undefined) throw new AuditError('USAGE', 'token revoke: expected a token name or id');
  const rec = revokeToken(trailDir(values.dir), target);
  out(`revoked ${rec.name} (${rec.id})`);
  return 0;
}

/**
 * Where `list` reads the tokens: a trail directory, or a PostgreSQL log's key directory (with
 * `serve --postgres`). It must exist: a mistyped --dir would list nothing, as if no token existed.
 */
function tokenHome(dir: string | undefined): string {
  const home = trailDir(dir);
  if (!fs.existsSync(home))
    throw new AuditError(
      'USAGE',
      `--dir: no trail or key directory at ${renderVisible(home)} (run sealtrail init)`,
    );
  return home;
}
