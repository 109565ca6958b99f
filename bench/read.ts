/**
 * `npm run bench:read`: reading a large trail. Builds (or reuses) a trail of BENCH_READ_N entries
 * (default 1,000,000 of the ~1 KB AI records of bench/records.ts) whose event times are spread
 * evenly over 30 days, then measures, each in a fresh child process:
 * - a one-hour time-window query (segments skipped from their summaries), three runs in one process;
 * - the newest 50 entries (what `sealtrail query` shows by default), and a lookup by id;
 * - an export of the whole trail to JSONL, with its peak RSS (bounded memory) and its rate.
 * BENCH_READ_DIR keeps the trail between runs (default: a folder under the OS temp dir).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { AuditTrail, exportToFile, getEntry, query, trailStatus } from '../src/index.js';
import { cachedTrail } from './cached-trail.js';
import { aiEvent } from './records.js';

const N = Number(process.env.BENCH_READ_N ?? 1_000_000);
const DAYS = 30;
const T0 = Date.UTC(2026, 0, 1);
const SPACING = (DAYS * 86_400_000) / N;
const self = fileURLToPath(import.meta.url);

async function child(mode: string, dir: string, arg: string): Promise<void> {
  const t0 = performance.now();
  const result: Record<string, unknown> = {};
  if (mode === 'window') {
    // The same query three times in this process: the first pays for compiling the reader.
    const from = new Date(Number(arg));
    const to = new Date(Number(arg) + 3_600_000);
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const q = query(dir, { from, to }, { order: 'oldest' });
      let n = 0;
      for await (const _ of q) n++;
      runs.push(performance.now() - t);
      result.matched = n;
      result.stats = q.stats;
    }
    result.runs = runs;
  } else if (mode === 'newest') {
    const q = query(dir, {}, { limit: 50 });
    result.matched = (await q.toArray()).length;
    result.stats = q.stats;
  } else if (mode === 'get') {
    result.found = (await getEntry(dir, arg)) !== undefined;
  } else if (mode === 'export') {
    let samples = 0;
    const m = await exportToFile(dir, {}, arg, {
      format: 'jsonl',
      onProgress: () => {
        samples++;
      },
    });
    result.entries = m.entries;
    result.bytes = m.bytes;
    result.samples = samples;
  }
  result.ms = performance.now() - t0;
  result.maxRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(mode: string, dir: string, arg = ''): Record<string, unknown> {
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', mode, dir, arg], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

async function buildTrail(dir: string): Promise<void> {
  const events = Array.from({ length: 1000 }, (_, i) => aiEvent(i));
  const trail = await AuditTrail.open({ dir, handleExit: false });
  const t0 = performance.now();
  for (let i = 0; i < N; ) {
    const end = Math.min(N, i + 2000);
    for (; i < end; i++) trail.emit({ ...events[i % 1000]!, ts: T0 + Math.floor(i * SPACING) });
    await new Promise<void>((r) => setImmediate(r));
  }
  await trail.close();
  console.log(
    `built ${N.toLocaleString('en-US')} entries in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

async function main(): Promise<void> {
  const dir = process.env.BENCH_READ_DIR ?? path.join(os.tmpdir(), `sealtrail-bench-read-${N}`);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start (other processes may be running)`,
  );
  await cachedTrail(dir, (n) => n >= N, buildTrail);
  const s = trailStatus(dir);
  console.log(
    `trail: ${s.entries.toLocaleString('en-US')} entries over ${DAYS} days, ${s.segments!.count} segments, ${(s.segments!.bytes / 2 ** 20).toFixed(0)} MiB`,
  );

  const windowStart = T0 + 15 * 86_400_000 + 12 * 3_600_000;
  const w = runChild('window', dir, String(windowStart));
  const runs = (w.runs as number[]).map((t) => t.toFixed(0));
  const st = w.stats as {
    segments: number;
    segmentsRead: number;
    linesRead: number;
    linesPrefiltered: number;
  };
  console.log(
    `one-hour window query: ${w.matched} entries; ${runs[0]} ms in a fresh process, then ${runs.slice(1).join(' / ')} ms; read ${st.segmentsRead} of ${st.segments} segments (the others skipped from their summaries), ${st.linesRead.toLocaleString('en-US')} lines, ${st.linesPrefiltered.toLocaleString('en-US')} of them passed over unparsed`,
  );
  const newest = runChild('newest', dir);
  console.log(`newest 50 entries: ${(newest.ms as number).toFixed(0)} ms`);
  let id = '';
  for await (const e of query(dir, { seqFrom: Math.floor(N * 0.4), seqTo: Math.floor(N * 0.4) + 1 }))
    id = e.id;
  const got = runChild('get', dir, id);
  console.log(
    `get(id) of entry ${Math.floor(N * 0.4).toLocaleString('en-US')}: ${(got.ms as number).toFixed(0)} ms (found: ${got.found})`,
  );
  const out = path.join(os.tmpdir(), `sealtrail-bench-export-${process.pid}.jsonl`);
  const exp = runChild('export', dir, out);
  const secs = (exp.ms as number) / 1000;
  console.log(
    `export of the whole trail to JSONL: ${(exp.entries as number).toLocaleString('en-US')} entries, ${((exp.bytes as number) / 2 ** 20).toFixed(0)} MiB in ${secs.toFixed(1)} s (${Math.round((exp.entries as number) / secs).toLocaleString('en-US')} entries/s); peak RSS ${(exp.maxRssMiB as number).toFixed(0)} MiB`,
  );
  fs.rmSync(out, { force: true });
  fs.rmSync(`${out}.manifest.json`, { force: true });
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!, process.argv[5] ?? '');
else await main();
