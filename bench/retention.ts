/**
 * `npm run bench:retention`: a retention run on a large trail. Builds a trail of BENCH_RETENTION_N
 * entries (default 300,000 of the ~1 KB AI records of bench/records.ts) whose event times are
 * spread evenly over 24 months, in 8 MiB segments, then measures, in this order:
 * - the dry run (the plan: every sealed segment read and every entry's rule evaluated);
 * - the run with `{ ai: { keep: "1y", contentDays: 90 }, archiveAfter: "30d" }`: about half the
 *   trail pruned behind the boundary, content of the rest older than 90 days erased, old sealed
 *   segments gzipped; with the bytes on disk before and after;
 * - a full `verify` of the pruned trail, and an inclusion proof of its first kept entry.
 * Peer: rotalabs-comply's cleanup deletes record by record and is O(n²) (DESIGN.md); it keeps no
 * proof of what remains, so there is no like-for-like figure to run beside this one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AuditTrail, proveInclusion, verifyDir } from '../src/index.js';
import { aiEvent } from './records.js';

const N = Number(process.env.BENCH_RETENTION_N ?? 300_000);
const MONTHS = 24;
const NOW = Date.now();
const T0 = NOW - MONTHS * 30 * 86_400_000;
const SPACING = (NOW - T0) / N;

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return total;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `machine: ${cpu}, ${os.cpus().length} cores, node ${process.version}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start (other processes may be running)`,
  );
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-bench-retention-'));
  const dir = path.join(root, 'audit');
  try {
    const events = Array.from({ length: 1000 }, (_, i) => aiEvent(i));
    const trail = await AuditTrail.open({ dir, handleExit: false, maxSegmentBytes: 8 * 2 ** 20 });
    for (let i = 0; i < N; ) {
      const end = Math.min(N, i + 2000);
      for (; i < end; i++) trail.emit({ ...events[i % 1000]!, ts: T0 + Math.floor(i * SPACING) });
      // A flush per batch: each segment then holds entries of one stretch of time.
      await trail.flush();
    }
    const policy = {
      categories: { ai: { keep: '1y', contentDays: 90 } },
      archiveAfter: '30d',
    } as const;
    const before = dirBytes(dir);
    let t = performance.now();
    const plan = await trail.applyRetention(policy, { dryRun: true });
    const planMs = performance.now() - t;
    t = performance.now();
    const result = await trail.applyRetention(policy);
    const applyMs = performance.now() - t;
    await trail.close();
    const after = dirBytes(dir);
    t = performance.now();
    const report = verifyDir(dir);
    const verifyMs = performance.now() - t;
    if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report.failure)}`);
    const proof = proveInclusion(dir, { seq: report.prunedBefore });
    console.log(`trail: ${N.toLocaleString('en-US')} entries over ${MONTHS} months, ${mib(before)} on disk`);
    console.log(`dry run: ${secs(planMs)} (${plan.prune.entries.toLocaleString('en-US')} entries to prune)`);
    console.log(
      `apply: ${secs(applyMs)}: pruned ${result.prune.entries.toLocaleString('en-US')} entries in ${result.prune.segments.length} segments, erased ${result.expired.fields.toLocaleString('en-US')} payloads, archived ${result.archived.segments} segments (${mib(result.archived.bytes)} to ${mib(result.archived.archiveBytes)}); ${mib(after)} on disk after`,
    );
    console.log(
      `verify of the pruned trail: ${secs(verifyMs)} for ${(report.entries - report.prunedBefore).toLocaleString('en-US')} entries from seq ${report.prunedBefore}; proof of entry ${proof.index}: ${proof.hashes.length} hashes`,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
