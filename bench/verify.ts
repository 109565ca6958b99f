/**
 * `npm run bench:verify`: `verifyDir` over a large trail. Builds (or reuses) a trail of
 * BENCH_VERIFY_N entries (default 1,000,000 of the ~1 KB AI records of bench/records.ts, written
 * as `npm run bench` writes them), then verifies it BENCH_VERIFY_RUNS times (default 3), each in a
 * fresh child process as `sealtrail verify` would run, and prints entries/s, CPU time and peak RSS
 * of each run. BENCH_VERIFY_DIR keeps the trail between runs (default: a folder under the OS temp
 * dir); BENCH_VERIFY_WORKERS is passed as verifyDir's `workers` option (0: one thread).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { built } from './built.js';
import { cachedTrail } from './cached-trail.js';
import { aiEvent } from './records.js';

const { AuditTrail, trailStatus, verifyDir } = built;
const N = Number(process.env.BENCH_VERIFY_N ?? 1_000_000);
const RUNS = Number(process.env.BENCH_VERIFY_RUNS ?? 3);
const self = fileURLToPath(import.meta.url);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function child(dir: string): void {
  const workers = process.env.BENCH_VERIFY_WORKERS;
  const options = workers === undefined ? {} : ({ workers: Number(workers) } as Record<string, unknown>);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const report = verifyDir(dir, options);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (!report.ok) throw new Error(`verify failed: ${report.failure?.code} ${report.failure?.message}`);
  process.stdout.write(
    `${JSON.stringify({ entries: report.entries, ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
}

async function buildTrail(dir: string): Promise<void> {
  const events = Array.from({ length: 1000 }, (_, i) => aiEvent(i));
  const trail = await AuditTrail.open({ dir, handleExit: false });
  const t0 = performance.now();
  for (let i = 0; i < N; ) {
    const end = Math.min(N, i + 2000);
    for (; i < end; i++) trail.emit(events[i % 1000]!);
    await new Promise<void>((r) => setImmediate(r));
  }
  await trail.close();
  console.log(`built ${fmt(N)} entries in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const dir = process.env.BENCH_VERIFY_DIR ?? path.join(os.tmpdir(), `sealtrail-bench-verify-${N}`);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  await cachedTrail(dir, (n) => n === N, buildTrail);
  const s = trailStatus(dir);
  console.log(
    `machine: ${cpu}, ${os.cpus().length} cores, node ${process.version}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start (other processes may be running)`,
  );
  console.log(
    `trail: ${fmt(s.entries)} entries, ${s.segments!.count} segments, ${fmt(s.segments!.bytes / 2 ** 20)} MiB`,
  );
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', dir], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    if (r.status !== 0) throw new Error(`verify run failed: ${r.stderr}`);
    const m = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      entries: number;
      ms: number;
      cpuMs: number;
      maxRssMiB: number;
    };
    console.log(
      `verify run ${i + 1}: ${fmt(m.entries)} entries in ${(m.ms / 1000).toFixed(2)} s = ${fmt(m.entries / (m.ms / 1000))} entries/s; CPU ${(m.cpuMs / 1000).toFixed(2)} s; peak RSS ${fmt(m.maxRssMiB)} MiB`,
    );
  }
}

if (process.argv[2] === '--child') child(process.argv[3]!);
else await main();
