/**
 * `npm run bench:collector`: sustained ingest over loopback, Sealtrail's collector against a peer
 * in the same run. The load runs in its own process (bench/collector-load.ts): C clients
 * (BENCH_CLIENTS, default 8) each POST batches of 100 ~1 KB AI events (JSON arrays) for
 * BENCH_SECONDS (default 10) or BENCH_BATCHES batches each, whichever ends first; every answer
 * comes after the batch is synced.
 *
 * - sealtrail: `Collector` (Fastify, token auth, validation, sealing in the writer's worker, one
 *   sync per group of batches). Zero loss is checked after: the ids answered equal the entries in
 *   the trail, and the trail verifies.
 * - peer: the same Fastify server and load, each event of a batch logged with pino to a file
 *   (async destination), the answer sent after the file is flushed and fsynced: a plain JSON log
 *   with the same durability and no sealing.
 *
 * Reports events/s and request p50/p99 for both.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fastify } from 'fastify';
import pino from 'pino';
import { verifyDir } from '../src/read/index.js';
import { Collector, createToken } from '../src/server/index.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const MAX_BATCHES = Number(process.env.BENCH_BATCHES ?? 100_000);
const BATCH = 100;
const here = path.dirname(fileURLToPath(import.meta.url));

interface LoadResult {
  accepted: number;
  refused: number;
  elapsed: number;
  latencies: number[];
  /** CPU time of this process (the server: every thread) during the load, in µs. */
  serverCpuUs?: number;
  /** CPU time of the load process, in µs. */
  loadCpuUs: number;
}

/** Runs the load process against `url` and waits for its result. */
async function load(url: string, token: string): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(here, 'collector-load.ts'),
      url,
      token,
      String(CLIENTS),
      String(SECONDS),
      String(MAX_BATCHES),
      String(BATCH),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const cpu0 = process.cpuUsage();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const cpu = process.cpuUsage(cpu0);
  if (code !== 0) throw new Error(`load process exited with ${code}`);
  return { ...(JSON.parse(out) as LoadResult), serverCpuUs: cpu.user + cpu.system };
}

function summary(name: string, r: LoadResult): string {
  const lat = [...r.latencies].sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? 0;
  const rate = Math.round(r.accepted / r.elapsed).toLocaleString('en-US');
  // Server CPU per event (all threads): what the machine's load changes least.
  const cpuUs = (r.serverCpuUs ?? 0) / Math.max(1, r.accepted);
  return `${name.padEnd(10)} ${rate.padStart(8)} events/s  (${r.accepted} events, ${lat.length} requests, refused ${r.refused}; p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms; server CPU ${cpuUs.toFixed(1)} µs/event, load CPU ${(r.loadCpuUs / Math.max(1, r.accepted)).toFixed(1)} µs/event)`;
}

async function benchSealtrail(tmp: string): Promise<{ result: LoadResult; entries: number; ok: boolean }> {
  const dir = path.join(tmp, 'audit');
  const token = createToken(dir, { name: 'bench', scopes: ['ingest'] }).token;
  const collector = await Collector.open({ dir, rateLimit: false });
  const { url } = await collector.listen({ port: 0 });
  const result = await load(url, token);
  await collector.close();
  const report = verifyDir(dir);
  return { result, entries: report.entries, ok: report.ok };
}

async function benchPino(tmp: string): Promise<LoadResult> {
  const file = path.join(tmp, 'pino.log');
  const dest = pino.destination({ dest: file, sync: false, minLength: 4096 });
  const logger = pino(dest);
  const fd = fs.openSync(file, 'r');
  const app = fastify({ logger: false, bodyLimit: 5 * 1024 * 1024 });
  app.post('/v1/events', async (req, reply) => {
    if (req.headers.authorization !== 'Bearer peer') return reply.code(401).send({ error: 'unauthorized' });
    const events = req.body as unknown[];
    if (!Array.isArray(events)) return reply.code(400).send({ error: 'USAGE' });
    for (const e of events) logger.info(e as object);
    await new Promise<void>((resolve, reject) => dest.flush((err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    return { count: events.length, ids: events.map((_, i) => i) };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const result = await load(`http://127.0.0.1:${port}`, 'peer');
  await app.close();
  dest.end();
  fs.closeSync(fd);
  return result;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-bench-collector-'));
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
console.log(
  `load average before: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (the machine is shared)`,
);
console.log(
  `load: ${CLIENTS} clients in another process, batches of ${BATCH} ~1 KB events, ${SECONDS} s each`,
);
const st = await benchSealtrail(tmp);
console.log(summary('sealtrail', st.result));
const peer = await benchPino(tmp);
console.log(summary('pino peer', peer));
console.log(
  `ratio sealtrail / peer: ${(st.result.accepted / st.result.elapsed / (peer.accepted / peer.elapsed)).toFixed(2)}x`,
);
console.log(
  `load average after: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`trail: ${st.entries} entries, verify ${st.ok ? 'ok' : 'FAILED'}`);
fs.rmSync(tmp, { recursive: true, force: true });
if (!st.ok || st.entries !== st.result.accepted) {
  console.error(`loss or corruption: ${st.result.accepted} accepted, ${st.entries} in the trail`);
  process.exit(1);
}
