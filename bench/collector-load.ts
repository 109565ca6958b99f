/**
 * The load of `npm run bench:collector`, run in its own process so that building and sending
 * requests does not share the server's event loop (producers are other processes). C clients
 * (keep-alive connections) each POST batches of ~1 KB AI events as a JSON array, one request at a
 * time, until the time is up or they sent their batch count. Prints one JSON line: accepted
 * events, refused requests, every request's latency in ms and this process's CPU time in µs.
 *
 * Usage: node --import tsx bench/collector-load.ts URL TOKEN CLIENTS SECONDS MAX_BATCHES BATCH
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { aiEvent } from './records.js';

const [url = '', token = '', clientsText, secondsText, maxText, batchText] = process.argv.slice(2);
const CLIENTS = Number(clientsText);
const SECONDS = Number(secondsText);
const MAX_BATCHES = Number(maxText);
const BATCH = Number(batchText);
const target = new URL('/v1/events', url);
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

let seq = 0;
const latencies: number[] = [];
let accepted = 0;
let refused = 0;

function post(body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      target,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function client(deadline: number): Promise<void> {
  for (let b = 0; b < MAX_BATCHES && performance.now() < deadline; b++) {
    const events = [];
    for (let i = 0; i < BATCH; i++) events.push(aiEvent(seq++));
    const body = JSON.stringify(events);
    const t0 = performance.now();
    const res = await post(body);
    latencies.push(performance.now() - t0);
    const ids = res.status === 200 ? (JSON.parse(res.text) as { ids?: unknown[] }).ids : undefined;
    if (ids !== undefined) accepted += ids.length;
    else refused++;
  }
}

const started = performance.now();
const deadline = started + SECONDS * 1000;
await Promise.all(Array.from({ length: CLIENTS }, () => client(deadline)));
const elapsed = (performance.now() - started) / 1000;
agent.destroy();
const cpu = process.cpuUsage();
const loadCpuUs = cpu.user + cpu.system;
process.stdout.write(`${JSON.stringify({ accepted, refused, elapsed, latencies, loadCpuUs })}\n`);
