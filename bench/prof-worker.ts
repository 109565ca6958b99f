/**
 * A profiling harness, not a report: N events (`N`, default 300,000) through one trail in the
 * mode `MODE` (plain | redact | enc), printing events/s; `MAX_QUEUE` and `BATCH` set the trail's
 * maxQueue and batchSize. Run it under
 * `node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/prof-worker.ts` to see where each
 * thread spends its time.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AuditTrailOptions } from '../src/index.js';
import { built } from './built.js';
import { aiEvent } from './records.js';

const { AuditTrail, KeyRing } = built;
const N = Number(process.env.N ?? 300_000);
const mode = process.env.MODE ?? 'plain';
const events = Array.from({ length: 1000 }, (_, i) => aiEvent(i));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-prof-'));
const modes: Record<string, Partial<AuditTrailOptions>> = {
  plain: {},
  redact: { redact: true },
  enc: {
    redact: true,
    content: 'encrypt',
    keys: KeyRing.fromKeys([{ id: 'bench', key: crypto.randomBytes(32) }]),
  },
};
const extra = modes[mode];
if (extra === undefined) throw new Error(`MODE: expected plain, redact or enc, got ${mode}`);
const maxQueue = process.env.MAX_QUEUE === undefined ? {} : { maxQueue: Number(process.env.MAX_QUEUE) };
const batch = process.env.BATCH === undefined ? {} : { batchSize: Number(process.env.BATCH) };
const trail = await AuditTrail.open({
  dir: path.join(dir, 't'),
  handleExit: false,
  ...maxQueue,
  ...batch,
  ...extra,
});
const t0 = performance.now();
for (let i = 0; i < N; ) {
  const end = Math.min(N, i + 2000);
  for (; i < end; i++) trail.emit(events[i % 1000]!);
  await new Promise<void>((r) => setImmediate(r));
}
await trail.flush();
const t1 = performance.now();
await trail.close();
console.log(`${mode}: ${Math.round(N / ((t1 - t0) / 1000))} events/s`);
fs.rmSync(dir, { recursive: true });
