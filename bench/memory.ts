/**
 * Resident memory of a long durable run: N events (`N`, default 1,000,000) through one trail with
 * default options, printing the largest growth of the process's resident memory seen between
 * slices of 2,000 emits, the growth at every 250,000 events, and the main thread's heap. Run
 * `npm run build && N=4000000 npx tsx bench/memory.ts`: growth that levels off is bounded by the
 * queue; growth that follows N is not.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { built } from './built.js';
import { emitAll } from './emit-all.js';
import { aiEvent } from './records.js';

const { AuditTrail } = built;
const N = Number(process.env.N ?? 1_000_000);
const MiB = 2 ** 20;
const events = Array.from({ length: 1000 }, (_, i) => aiEvent(i));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-memory-'));
const trail = await AuditTrail.open({ dir: path.join(dir, 't'), handleExit: false });
const marks: string[] = [];
const peak = await emitAll(
  (i) => trail.emit(events[i % 1000]!),
  N,
  (emitted, growth) => {
    if (emitted % 250_000 === 0) marks.push(`${emitted / 1000}k: ${growth.toFixed(0)}`);
  },
);
await trail.flush();
const heap = process.memoryUsage().heapUsed / MiB;
console.log(`${N.toLocaleString('en-US')} events: peak resident growth ${peak.toFixed(0)} MiB`);
console.log(`growth by events (MiB): ${marks.join(', ')}`);
console.log(`main thread heap used: ${heap.toFixed(0)} MiB`);
await trail.close();
fs.rmSync(dir, { recursive: true, force: true });
