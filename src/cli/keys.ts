/**
 * `sealtrail keys init|list|rotate`: the master keys of a trail. `init` creates the passphrase
 * key file; `list` shows ids, creation times, the current key and the provider that served;
 * `rotate` adds a new current key where the serving provider stores keys and rewraps the
 * per-subject data keys under it. Never prints key material.
 */
import fs from 'node:fs';
import { AuditError } from '../errors.js';
import {
  createKeyFile,
  defaultKeyProviders,
  type KeyRing,
  openTrailKeyRing,
  openTrailSubjectKeys,
  passphraseFromEnv,
  rotateKeys,
  trailKeyPaths,
} from '../keys/index.js';
import { readTrailMeta } from '../store/index.js';
import { DIR_OPTION, out, parseVerbArgs, trailDir } from './common.js';

const SUBVERBS: Record<string, (args: string[]) => Promise<number>> = {
  init: runKeysInit,
  list: runKeysList,
  rotate: runKeysRotate,
};

export async function runKeys(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const run = sub === undefined ? undefined : SUBVERBS[sub];
  if (run === undefined) throw new AuditError('USAGE', 'keys: expected init, list or rotate');
  return run(rest);
}

async function runKeysInit(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('keys init', args, { ...DIR_OPTION, json: { type: 'boolean' } });
  const dir = trailDir(values.dir);
  readTrailMeta(dir);
  const passphrase = passphraseFromEnv();
  if (passphrase === undefined) {
    throw new AuditError('USAGE', 'keys init: set SEALTRAIL_PASSPHRASE (or SEALTRAIL_PASSPHRASE_FILE) first');
  }
  const { keyFile } = trailKeyPaths(dir);
  const { id } = await createKeyFile(keyFile, passphrase);
  if (values.json === true) out(JSON.stringify({ file: keyFile, current: id }));
  else out(`created key file ${keyFile} with key ${id}`);
  return 0;
}

async function runKeysList(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('keys list', args, { ...DIR_OPTION, json: { type: 'boolean' } });
  const ring = await openTrailKeyRing(trailDir(values.dir));
  if (values.json === true) {
    out(JSON.stringify(describe(ring)));
    return 0;
  }
  const rows = [
    ['id', 'created', 'current', 'provider'],
    ...ring
      .list()
      .map((k) => [
        k.id,
        k.createdAt === undefined ? '-' : new Date(k.createdAt).toISOString(),
        k.current ? 'yes' : '',
        ring.source.provider,
      ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) {
    const line = r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ');
    out(line.trimEnd());
  }
  return 0;
}

async function runKeysRotate(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('keys rotate', args, { ...DIR_OPTION, json: { type: 'boolean' } });
  const dir = trailDir(values.dir);
  const { origin } = readTrailMeta(dir);
  const { ring, previous } = await rotateKeys({ providers: defaultKeyProviders(dir), context: origin });
  // Subject keys are rewrapped now, not lazily: afterwards every one is under the new key.
  let rewrapped = 0;
  const { subjectsDir } = trailKeyPaths(dir);
  if (fs.existsSync(subjectsDir)) rewrapped = await (await openTrailSubjectKeys(dir, ring)).rewrap(ring);
  if (values.json === true) {
    out(JSON.stringify({ ...describe(ring), previous: previous.current, subjectKeysRewrapped: rewrapped }));
  } else {
    out(
      `rotated: new current key ${ring.current} (was ${previous.current}, ${ring.source.provider}); ` +
        `${rewrapped} subject key${rewrapped === 1 ? '' : 's'} rewrapped`,
    );
  }
  return 0;
}

function describe(ring: KeyRing) {
  return {
    provider: ring.source.provider,
    ...(ring.source.detail === undefined ? {} : { detail: ring.source.detail }),
    current: ring.current,
    keys: ring.list(),
  };
}
