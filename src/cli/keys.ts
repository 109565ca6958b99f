/**
 * `sealtrail keys init|list|rotate`: the master keys of a trail. `init` creates the passphrase
 * key file; `list` shows ids, creation times, the current key and the provider that served;
 * `rotate` adds a new current key where the serving provider stores keys and rewraps the
 * per-subject data keys under it. Never prints key material. For a PostgreSQL log
 * (`--postgres URL --log NAME --keys DIR`) the keys are in its key directory and the origin,
 * their context, is read from the database.
 */
import fs from 'node:fs';
import { AuditError } from '../errors.js';
import {
  createKeyFile,
  type KeyRing,
  keyDirPaths,
  keyDirProviders,
  openKeyDirRing,
  openKeyDirSubjectKeys,
  passphraseFromEnv,
  rotateKeys,
  trailKeyPaths,
} from '../keys/index.js';
import { readTrailMeta } from '../store/index.js';
import { pgKeysDir } from '../writer/postgres-target.js';
import { DIR_OPTION, out, outJson, parseVerbArgs } from './common.js';
import { POSTGRES_OPTIONS, type PostgresValues, postgresTarget, readTarget } from './postgres-options.js';

const OPTIONS = { ...DIR_OPTION, ...POSTGRES_OPTIONS, json: { type: 'boolean' } } as const;

/**
 * The key directory and origin of the trail the options name: a directory's `keys/` folder, or a
 * PostgreSQL log's key directory.
 * @throws AuditError TRAIL_NOT_FOUND, STORE_UNAVAILABLE, USAGE.
 */
async function keyHome(verb: string, values: PostgresValues): Promise<{ keysDir: string; origin: string }> {
  const target = await readTarget(verb, values);
  try {
    if (target.pg === undefined) {
      const dir = target.source as string;
      return { keysDir: trailKeyPaths(dir).keysDir, origin: readTrailMeta(dir).origin };
    }
    return { keysDir: target.keysDir!, origin: target.pg.meta.origin };
  } finally {
    target.close();
  }
}

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
  const { values } = parseVerbArgs('keys init', args, OPTIONS);
  // A log's key file may be made before the log: `init --content encrypt` needs a key at hand.
  const pg = postgresTarget('keys init', values);
  const keysDir = pg === undefined ? (await keyHome('keys init', values)).keysDir : pgKeysDir(pg);
  const passphrase = passphraseFromEnv();
  if (passphrase === undefined) {
    throw new AuditError('USAGE', 'keys init: set SEALTRAIL_PASSPHRASE (or SEALTRAIL_PASSPHRASE_FILE) first');
  }
  const { keyFile } = keyDirPaths(keysDir);
  const { id } = await createKeyFile(keyFile, passphrase);
  if (values.json === true) outJson({ file: keyFile, current: id });
  else out(`created key file ${keyFile} with key ${id}`);
  return 0;
}

async function runKeysList(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('keys list', args, OPTIONS);
  const { keysDir, origin } = await keyHome('keys list', values);
  const ring = await openKeyDirRing(keysDir, origin);
  if (values.json === true) {
    outJson(describe(ring));
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
  const { values } = parseVerbArgs('keys rotate', args, OPTIONS);
  const { keysDir, origin } = await keyHome('keys rotate', values);
  const { ring, previous } = await rotateKeys({ providers: keyDirProviders(keysDir), context: origin });
  // Subject keys are rewrapped now, not lazily: afterwards every one is under the new key.
  let rewrapped = 0;
  let failed: Array<{ file: string; reason: string }> = [];
  if (fs.existsSync(keyDirPaths(keysDir).subjectsDir)) {
    ({ rewrapped, failed } = await (await openKeyDirSubjectKeys(keysDir, ring)).rewrap(ring));
  }
  if (values.json === true) {
    outJson({
      ...describe(ring),
      previous: previous.current,
      subjectKeysRewrapped: rewrapped,
      subjectKeysFailed: failed,
    });
  } else {
    out(
      `rotated: new current key ${ring.current} (was ${previous.current}, ${ring.source.provider}); ` +
        `${rewrapped} subject key${rewrapped === 1 ? '' : 's'} rewrapped`,
    );
  }
  if (failed.length === 0) return 0;
  // The rotation stands (the old keys stay in the ring, so the files left still open); say which.
  const first = failed[0]!;
  throw new AuditError(
    'KEY_INVALID',
    `keys rotate: ${failed.length} subject key file${failed.length === 1 ? '' : 's'} left under the old key, e.g. ${first.file}: ${first.reason}`,
  );
}

function describe(ring: KeyRing) {
  return {
    provider: ring.source.provider,
    ...(ring.source.detail === undefined ? {} : { detail: ring.source.detail }),
    current: ring.current,
    keys: ring.list(),
  };
}
