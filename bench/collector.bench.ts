/**
 * `npm run bench:collector`: sustained ingest through the collector on loopback. C clients
 * (BENCH_CLIENTS, default 8) each POST batches of 100 ~1 KB AI events (JSON arrays) for
 * BENCH_SECONDS (default 10) or BENCH_BATCHES batches each, whichever ends first; every answer
 * comes after the batch is synced. Reports events/s, request p50/p99, then checks zero loss: the
 * ids answered equal the entries in the trail, and the trail verifies.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { verifyDir } from '../src/read/index.js';
import { Collector, createToken } from '../src/server/index.js';
import { aiEvent } from './records.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const MAX_BATCHES = Number(process.env.BENCH_BATCHES ?? 100_000);
const BATCH = 100;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-bench-collector-'));
const dir = path.join(tmp, 'audit');
const token = createToken(dir, { name: 'bench', scopes: ['ingest'] }).token;
const collector = await Collector.open({ dir, rateLimit: false });
const { url } = await collector.listen({ port: 0 });

let seq = 0;
const latencies: number[] = [];
let accepted = 0;
let failed = 0;
const deadline = performance.now() + SECONDS * 1000;

async function client(): Promise<void> {
  for (let b = 0; b < MAX_BATCHES && performance.now() < deadline; b++) {
    const body = JSON.stringify(Array.from({ length: BATCH }, () => aiEvent(seq++)));
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    const answer = (await res.json()) as { ids?: string[] };
    latencies.push(performance.now() - t0);
    if (res.status === 200 && answer.ids !== undefined) accepted += answer.ids.length;
    else failed++;
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: CLIENTS }, () => client()));
const elapsed = (performance.now() - started) / 1000;
await collector.close();

latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
const report = verifyDir(dir);
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
console.log(`clients ${CLIENTS}, batches of ${BATCH}, ${elapsed.toFixed(1)} s`);
console.log(
  `events accepted: ${accepted} (${Math.round(accepted / elapsed).toLocaleString('en-US')} events/s)`,
);
console.log(
  `requests: ${latencies.length}, refused ${failed}; p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms`,
);
console.log(
  `trail: ${report.entries} entries, verify ${report.ok ? 'ok' : `FAILED ${report.failure?.code}`}`,
);
fs.rmSync(tmp, { recursive: true, force: true });
if (!report.ok || report.entries !== accepted) {
  console.error(`loss or corruption: ${accepted} accepted, ${report.entries} in the trail`);
  process.exit(1);
}
