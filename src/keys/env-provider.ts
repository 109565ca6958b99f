/**
 * The environment provider: `SEALTRAIL_KEY` holds one master key (64 hex digits or base64 of
 * 32 bytes; its id is then derived from it, `k-xxxxxxxx`) or several as `id:key,id:key`, the
 * first being current and the rest kept for reading. Errors name the entry, never its text.
 */
import { AuditError } from '../errors.js';
import { checkKeyId } from './key-id.js';
import { parseKeyText } from './key-material.js';
import type { KeyInput } from './key-ring.js';
import type { KeyProvider, LoadedKeys } from './provider.js';

/** The variable the environment provider reads. */
export const KEY_ENV = 'SEALTRAIL_KEY';

/**
 * Parses a `SEALTRAIL_KEY` value.
 * @throws AuditError KEY_INVALID naming the entry (1-based), never its text.
 */
export function parseKeyEnv(value: string, variable = KEY_ENV): LoadedKeys {
  const entries = value.split(',');
  const keys: KeyInput[] = entries.map((raw, i) => {
    const where = entries.length === 1 ? variable : `${variable} entry ${i + 1}`;
    const entry = raw.trim();
    if (entry === '') throw new AuditError('KEY_INVALID', `${where}: empty`);
    const colon = entry.indexOf(':');
    if (colon < 0) return { key: parseKeyText(entry, where) };
    return { id: checkKeyId(entry.slice(0, colon), where), key: parseKeyText(entry.slice(colon + 1), where) };
  });
  return { keys, detail: variable };
}

/**
 * A provider reading `SEALTRAIL_KEY` from `env` (default process.env) at each load; not
 * configured when the variable is unset or empty. It has no `rotate`: the caller owns the
 * variable.
 */
export function envKeyProvider(env: NodeJS.ProcessEnv = process.env): KeyProvider {
  return {
    name: 'env',
    async load() {
      const value = env[KEY_ENV];
      if (value === undefined || value.trim() === '') return undefined;
      return parseKeyEnv(value);
    },
  };
}
