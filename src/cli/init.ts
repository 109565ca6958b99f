/** `sealtrail init`: creates a trail and shows its verifier key and, once, the seal seed. */

import { readString } from '../config/env-string.js';
import { AuditError, isAuditError } from '../errors.js';
import { renderVisible } from '../event/index.js';
import { openKeyDirRing, openTrailKeyRing } from '../keys/index.js';
import { checkOrigin, createTrail, defaultOrigin } from '../store/index.js';
import { AuditTrail } from '../writer/index.js';
import { pgKeysDir } from '../writer/postgres-target.js';
import { DIR_OPTION, out, outJson, parseVerbArgs, trailDir } from './common.js';
import { POSTGRES_OPTIONS, postgresTarget } from './postgres-options.js';

export async function runInit(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('init', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    origin: { type: 'string' },
    content: { type: 'string' },
    json: { type: 'boolean' },
  });
  const content = setting(values.content, 'SEALTRAIL_CONTENT') ?? 'plain';
  if (content !== 'plain' && content !== 'hash' && content !== 'encrypt') {
    throw new AuditError(
      'USAGE',
      `${settingName(values.content, 'content', 'SEALTRAIL_CONTENT')}: expected hash, encrypt or plain`,
    );
  }
  const origin = setting(values.origin, 'SEALTRAIL_ORIGIN');
  if (origin !== undefined) checkOrigin(origin, settingName(values.origin, 'origin', 'SEALTRAIL_ORIGIN'));
  const pg = postgresTarget('init', values);
  let created: ReturnType<typeof createTrail>;
  let dir: string;
  if (pg !== undefined) {
    // A log is created by its first writer open: it must not exist yet.
    const { PgSource } = await import('../store/postgres/index.js');
    let exists = true;
    try {
      new PgSource(pg.url, pg.log).close();
    } catch (err) {
      if (!isAuditError(err, 'TRAIL_NOT_FOUND')) throw err;
      exists = false;
    }
    if (exists) throw new AuditError('TRAIL_EXISTS', `init: log ${pg.log ?? 'default'} already exists`);
    // hash and encrypt need the master key: found before the log is created, so that a missing
    // key stops init before the seal seed could be shown and lost.
    const name = origin ?? defaultOrigin();
    const keys = content === 'plain' ? undefined : await openKeyDirRing(pgKeysDir(pg), name);
    const trail = await AuditTrail.open({
      postgres: pg,
      content,
      handleExit: false,
      origin: name,
      ...(keys === undefined ? {} : { keys }),
    });
    await trail.close();
    if (trail.sealSeed === undefined)
      throw new AuditError('TRAIL_EXISTS', `init: log ${pg.log ?? 'default'} already exists`);
    created = { origin: trail.origin, verifierKey: trail.verifierKey, sealSeed: trail.sealSeed };
    dir = `log ${pg.log ?? 'default'} (keys in ${pgKeysDir(pg)})`;
  } else {
    dir = trailDir(values.dir);
    const opts: Parameters<typeof createTrail>[1] = { content };
    if (origin !== undefined) opts.origin = origin;
    created = createTrail(dir, opts);
    if (content !== 'plain') await noteMissingKey(dir, content);
  }
  if (values.json === true) {
    outJson(created);
  } else {
    out(`created trail ${created.origin} in ${renderVisible(dir)}`);
    out(`verifier key (publish it; verify with --key): ${created.verifierKey}`);
    out(`seal seed (shown once; keep it offline; verify with --seal-seed=SEED): ${created.sealSeed}`);
  }
  return 0;
}

/**
 * An option, else its environment variable as audit.enable() reads it: trimmed, and an empty
 * value is unset (`SEALTRAIL_CONTENT= sealtrail init` is not a bad content mode).
 */
function setting(value: string | undefined, variable: string): string | undefined {
  return value ?? readString(process.env, variable);
}

/** How a message names a setting: the option when it was given, else the variable. */
function settingName(value: string | undefined, option: string, variable: string): string {
  return value !== undefined ? `--${option}` : variable;
}

/**
 * A directory trail in hash or encrypt mode finds its master key when a writer opens it: if none
 * of its providers has one yet, or one fails (a malformed SEALTRAIL_KEY), say so now rather than
 * at the first append. Only a note: the trail exists by now, and init must still show its seed.
 */
async function noteMissingKey(dir: string, content: string): Promise<void> {
  try {
    (await openTrailKeyRing(dir)).wipe();
  } catch (err) {
    if (!isAuditError(err)) throw err;
    const why =
      err.code === 'KEY_NOT_FOUND'
        ? `, and none is configured yet: run 'sealtrail keys init --dir ${renderVisible(dir)}' or set SEALTRAIL_KEY before writing`
        : `: ${renderVisible(err.message)}`; // messages name the setting, never a key
    process.stderr.write(`sealtrail: note: content ${content} needs a master key${why}\n`);
  }
}
