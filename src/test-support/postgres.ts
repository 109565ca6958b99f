/**
 * A real PostgreSQL server for tests and benchmarks: initdb and pg_ctl from Debian's `postgresql`
 * package (the version directory found with a glob), a cluster in a fresh temporary directory on a
 * free loopback port, stopped and removed by `stop()`. initdb refuses to run as root, so as root
 * the cluster is created and run as the `postgres` OS user, which then owns the directory.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** A running test cluster. */
export interface TestPostgres {
  /** The loopback port the server listens on. */
  port: number;
  /** Connection string of the superuser `postgres` (database `postgres`). */
  superUrl: string;
  /** Connection string of a fresh database owned by the superuser, for one test file. */
  url(database: string): string;
  /** Connection string of `user` (password `password`) on `database`. */
  urlAs(user: string, password: string, database: string): string;
  /** Runs SQL as the superuser on `database`. */
  sql(database: string, text: string, params?: unknown[]): Promise<pg.QueryResult>;
  /** Creates an empty database. */
  createDatabase(name: string): Promise<string>;
  stop(): void;
}

/** The newest `/usr/lib/postgresql/<version>/bin` that holds initdb, or undefined. */
export function findPgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = fs.readdirSync(root);
  } catch {
    return undefined;
  }
  const found = versions
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return found[0] === undefined ? undefined : path.join(root, found[0], 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a cluster. `fsync` stays on (the default), so measured figures include real commits.
 * With `replicaOf` (the port of a running test cluster), the cluster is a hot standby streaming
 * from it (pg_basebackup -R), read-only, with the same superuser and databases.
 * @throws Error when no PostgreSQL binaries are installed (CI installs the `postgresql` package).
 */
export async function startPostgres(
  settings: Record<string, string> = {},
  replicaOf?: number,
): Promise<TestPostgres> {
  const bin = findPgBin();
  if (bin === undefined) throw new Error('postgresql is not installed (no /usr/lib/postgresql/*/bin/initdb)');
  const root = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-pg-'));
  fs.chmodSync(dir, 0o700);
  const run = (cmd: string, args: string[]): void => {
    const [file, argv] = root
      ? ['runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]]
      : [path.join(bin, cmd), args];
    execFileSync(file as string, argv as string[], {
      stdio: 'pipe',
      env: { ...process.env, PGPASSWORD: 'postgres' },
    });
  };
  if (root) execFileSync('chown', ['postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, 'postgres\n', { mode: 0o600 });
  if (root) execFileSync('chown', ['postgres:postgres', pwfile]);
  if (replicaOf === undefined)
    run('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${pwfile}`,
      '-E',
      'UTF8',
      '--locale=C',
    ]);
  else
    run('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(replicaOf),
      '-U',
      'postgres',
      '-D',
      data,
      '-R',
      '-c',
      'fast',
    ]);
  const opts = [
    `-c port=${port}`,
    "-c listen_addresses='127.0.0.1'",
    `-c unix_socket_directories='${dir}'`,
    ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
  ].join(' ');
  run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-o', opts, '-w', 'start']);
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  const urlAs = (user: string, password: string, database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const url = (database: string) => urlAs('postgres', 'postgres', database);
  const sql = async (database: string, text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return await client.query(text, params);
    } finally {
      await client.end();
    }
  };
  return {
    port,
    superUrl: url('postgres'),
    url,
    urlAs,
    sql,
    createDatabase: async (name) => {
      await sql('postgres', `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return url(name);
    },
    stop,
  };
}

/** A loopback TCP relay to a server whose open connections can be made to go silent. */
export interface SilentRelay {
  port: number;
  /**
   * From now on, the connections open so far carry nothing either way and never close: the path
   * a dropped route or a dead middlebox leaves. Connections made later are relayed as usual.
   */
  silence(): void;
  close(): Promise<void>;
}

/** Starts a {@link SilentRelay} on a free loopback port to `127.0.0.1:port`. */
export async function startSilentRelay(port: number): Promise<SilentRelay> {
  const open = new Set<{ silent: boolean; sockets: net.Socket[] }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    const pair = { silent: false, sockets: [client, upstream] };
    open.add(pair);
    const relay = (from: net.Socket, to: net.Socket) => {
      from.on('data', (chunk) => {
        if (!pair.silent) to.write(chunk);
      });
      from.on('end', () => {
        if (!pair.silent) to.end();
      });
      from.on('error', () => {});
    };
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    silence: () => {
      for (const pair of open) pair.silent = true;
    },
    close: async () => {
      for (const pair of open) for (const s of pair.sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
