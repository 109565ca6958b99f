/**
 * `sealtrail serve`: the collector on a trail directory (default ./audit). With no token yet, it
 * creates a `local` token with every scope and prints it once, so one command gives a working
 * service; `--demo` (what `npm start` runs) records demo events when the trail is empty. Stops
 * cleanly (flush, close) on SIGINT and SIGTERM.
 */
import fs from 'node:fs';
import { AuditError } from '../errors.js';
import { query } from '../read/index.js';
import { Collector, createToken, loadTokens, seedDemo, TOKEN_SCOPES } from '../server/index.js';
import { DIR_OPTION, intOption, parseVerbArgs, trailDir } from './common.js';

export async function runServe(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('serve', args, {
    ...DIR_OPTION,
    host: { type: 'string' },
    port: { type: 'string' },
    'max-batch': { type: 'string' },
    'body-limit': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    demo: { type: 'boolean' },
  });
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new AuditError('USAGE', 'serve: give --tls-cert and --tls-key together');
  }
  const tls =
    values['tls-cert'] === undefined || values['tls-key'] === undefined
      ? undefined
      : { cert: readPem(values['tls-cert']), key: readPem(values['tls-key']) };
  const dir = trailDir(values.dir);
  const maxBatch = intOption('max-batch', values['max-batch']);
  const bodyLimit = intOption('body-limit', values['body-limit']);
  const collector = await Collector.open({
    dir,
    ...(maxBatch === undefined ? {} : { maxBatch }),
    ...(bodyLimit === undefined ? {} : { bodyLimit }),
    ...(tls === undefined ? {} : { tls }),
  });
  if (values.demo === true && (await trailIsEmpty(dir))) {
    const n = await seedDemo(collector.trail);
    process.stderr.write(`sealtrail serve: the trail was empty; recorded ${n} demo events\n`);
  }
  if (loadTokens(dir).length === 0) {
    const { token } = createToken(dir, { name: 'local', scopes: TOKEN_SCOPES });
    process.stderr.write(`sealtrail serve: no tokens yet; created "local" with every scope (shown once):\n`);
    process.stdout.write(`${token}\n`);
  }
  const port = intOption('port', values.port) ?? 8787;
  const address = await collector.listen({ host: values.host ?? '127.0.0.1', port });
  process.stderr.write(`sealtrail serve: collecting into ${dir} at ${address.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await collector.close();
  return 0;
}

function readPem(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch {
    throw new AuditError('STORE_IO', `${file}: cannot be read`, { file });
  }
}

async function trailIsEmpty(dir: string): Promise<boolean> {
  for await (const _ of query(dir, {}, { limit: 1 })) return false;
  return true;
}
