/**
 * `sealtrail serve`: the collector on a trail directory (default ./audit). With no token yet, it
 * creates a `local` token with every scope and prints it once, so one command gives a working
 * service; `--demo` (what `npm start` runs) records demo events when the trail is empty. Stops
 * cleanly (flush, close) on SIGINT and SIGTERM.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { AuditError } from '../errors.js';
import { renderVisible } from '../event/index.js';
import { query } from '../read/index.js';
import { Collector, createToken, loadTokens, seedDemo, TOKEN_SCOPES } from '../server/index.js';
import { pgKeysDir } from '../writer/postgres-target.js';
import { DIR_OPTION, intOption, parseVerbArgs, trailDir } from './common.js';
import { POSTGRES_OPTIONS, postgresTarget } from './postgres-options.js';

export async function runServe(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('serve', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    host: { type: 'string' },
    port: { type: 'string' },
    'max-batch': { type: 'string' },
    'body-limit': { type: 'string' },
    'max-tails': { type: 'string' },
    'max-tails-per-token': { type: 'string' },
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
      : tlsFiles(values['tls-cert'], values['tls-key']);
  const pg = postgresTarget('serve', values);
  // With --postgres, the log's key directory also keeps the collector's tokens.
  const dir = pg === undefined ? trailDir(values.dir) : pgKeysDir(pg);
  // every option checked before the collector opens (and creates) anything
  const positive = (flag: string): number | undefined => {
    const n = intOption(flag, values[flag as keyof typeof values] as string | undefined);
    if (n === 0) throw new AuditError('USAGE', `--${flag}: expected a positive integer`);
    return n;
  };
  const maxBatch = positive('max-batch');
  const bodyLimit = positive('body-limit');
  const tails: { total?: number; perToken?: number } = {};
  for (const [flag, key] of [
    ['max-tails', 'total'],
    ['max-tails-per-token', 'perToken'],
  ] as const) {
    const n = positive(flag);
    if (n !== undefined) tails[key] = n;
  }
  const port = intOption('port', values.port) ?? 8787;
  if (port > 65535) throw new AuditError('USAGE', '--port: expected 0 to 65535');
  const collector = await Collector.open({
    dir,
    ...(pg === undefined ? {} : { postgres: pg }),
    ...(maxBatch === undefined ? {} : { maxBatch }),
    ...(bodyLimit === undefined ? {} : { bodyLimit }),
    tails,
    ...(tls === undefined ? {} : { tls }),
  });
  const created = collector.trail.sealSeed;
  if (created !== undefined) {
    // This open created the trail: its seal seed exists only now, as with `sealtrail init`.
    process.stdout.write(
      `created trail ${collector.trail.origin}\n` +
        `verifier key (publish it; verify with --key): ${collector.trail.verifierKey}\n` +
        `seal seed (shown once; keep it offline; verify with --seal-seed=SEED): ${created}\n`,
    );
  }
  if (values.demo === true && (await trailIsEmpty(pg === undefined ? dir : collector.trail))) {
    const n = await seedDemo(collector.trail);
    process.stderr.write(`sealtrail serve: the trail was empty; recorded ${n} demo events\n`);
  }
  if (loadTokens(dir).length === 0) {
    const { token } = createToken(dir, { name: 'local', scopes: TOKEN_SCOPES });
    process.stderr.write(`sealtrail serve: no tokens yet; created "local" with every scope (shown once):\n`);
    process.stdout.write(`${token}\n`);
  }
  let address: Awaited<ReturnType<Collector['listen']>>;
  try {
    address = await collector.listen({ host: values.host ?? '127.0.0.1', port });
  } catch (err) {
    // a port in use or a host that does not resolve: the trail is closed (flushed, unlocked) first
    await collector.close();
    throw err;
  }
  const into = pg === undefined ? dir : `postgres log ${pg.log ?? 'default'}`;
  process.stderr.write(`sealtrail serve: collecting into ${into} at ${address.url}\n`);
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
    throw new AuditError('STORE_IO', `${renderVisible(file)}: cannot be read`, { file });
  }
}

/**
 * The certificate and key, parsed now: a file that holds no PEM certificate or key, or a key that
 * is not the certificate's, fails naming the option and file before the collector creates a
 * trail or a token (the TLS server would refuse them only then, naming neither).
 */
function tlsFiles(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const cert = readPem(certFile);
  const key = readPem(keyFile);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new AuditError('USAGE', `--tls-cert ${renderVisible(certFile)}: not a PEM certificate`, {
      file: certFile,
    });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    // the parser's message is not shown: it may quote the file's bytes, and they are a key
    throw new AuditError('USAGE', `--tls-key ${renderVisible(keyFile)}: not an unencrypted PEM private key`, {
      file: keyFile,
    });
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new AuditError(
      'USAGE',
      `--tls-key ${renderVisible(keyFile)}: not the key of the --tls-cert certificate`,
      {
        file: keyFile,
      },
    );
  return { cert, key };
}

async function trailIsEmpty(trail: string | Collector['trail']): Promise<boolean> {
  const entries = typeof trail === 'string' ? query(trail, {}, { limit: 1 }) : trail.query({}, { limit: 1 });
  for await (const _ of entries) return false;
  return true;
}
