/**
 * `npm run bench`: Sealtrail against pino on the same ~1 KB AI records, in one run on one machine.
 * Reports durable sealed events/s (worker and inline), pino sync and async to a file (fsynced at
 * the end), their ratio, emit() caller-side p50/p99, the caller's event-loop time per event,
 * `sealtrail append` vs pino ingesting the same JSON lines, verify entries/s, and inclusion-proof
 * time on the large trail. BENCH_N sets the event count (default 1,000,000); the durable-write
 * peers, and the runs with redaction and with redaction + encryption, run in BENCH_ROUNDS
 * alternating rounds (default 3), reported as medians with their range.
 * `--write` also rewrites docs/benchmarks.md with the results.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { AuditTrailOptions } from '../src/index.js';
import { built } from './built.js';
import { emitAll } from './emit-all.js';
import { proofTimes, spread } from './proof-times.js';
import { aiEvent } from './records.js';

const { AuditTrail, KeyRing, createRedactor, verifyDir } = built;
const N = Number(process.env.BENCH_N ?? 1_000_000);
/** Alternating rounds of the durable-write peers (BENCH_ROUNDS, default 3). */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const here = path.dirname(fileURLToPath(import.meta.url));
// A phase's own process (see `phase`) works in its parent's directory.
const PHASE_DIR_ENV = 'SEALTRAIL_BENCH_PHASE_DIR';
const inPhase = process.argv.includes('--phase');
const tmp = inPhase
  ? process.env[PHASE_DIR_ENV]!
  : fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-bench-'));
const results: Array<[string, string]> = [];
const record = (name: string, value: string) => {
  results.push([name, value]);
  console.log(`${name.padEnd(58)} ${value}`);
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const events = Array.from({ length: 1000 }, (_, i) => aiEvent(i));
const recordBytes = JSON.stringify(events[0]).length;

async function benchSealtrail(
  worker: boolean,
  n: number,
  extra: Partial<AuditTrailOptions> = {},
  name = worker ? 'worker' : 'inline',
): Promise<{ rate: number; loopUsPerEvent: number; dir: string; rssMiB: number }> {
  const dir = path.join(tmp, `sealtrail-${name}`);
  const trail = await AuditTrail.open({ dir, worker, handleExit: false, ...extra });
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const rssMiB = await emitAll((i) => trail.emit(events[i % 1000]!), n);
  await trail.flush();
  const t1 = performance.now();
  const elu = performance.eventLoopUtilization(elu0);
  await trail.close();
  return { rate: n / ((t1 - t0) / 1000), loopUsPerEvent: (elu.active * 1000) / n, dir, rssMiB };
}

/**
 * The caller's own event-loop time per event: emit() plus the work deferred to its thread
 * (joining and posting batches), with a queue large enough that emit never waits for the writer,
 * after 20,000 events of warm-up.
 */
async function benchCallerCost(n: number): Promise<number> {
  const dir = path.join(tmp, 'sealtrail-caller');
  const trail = await AuditTrail.open({ dir, handleExit: false, maxQueue: n });
  // Warmed up first, as emit() p50 is: in its own process, the phase starts cold.
  await emitAll((i) => trail.emit(events[i % 1000]!), 20_000);
  await trail.flush();
  const elu0 = performance.eventLoopUtilization();
  await emitAll((i) => trail.emit(events[i % 1000]!), n);
  await new Promise<void>((r) => setImmediate(r));
  const elu = performance.eventLoopUtilization(elu0);
  await trail.close();
  fs.rmSync(dir, { recursive: true });
  return (elu.active * 1000) / n;
}

/**
 * Writes and deletes a scratch file of `bytes`, then times a second, smaller write into the memory
 * the first one freed. On this virtual machine the host backs guest memory on first touch, so a
 * page-cache write into never-touched memory costs about ten times one into recycled memory; a
 * server that has run a while writes into recycled memory. The warm-up puts every peer below in
 * that state (each phase deletes its files when done, so the next reuses their memory); on a
 * machine without the effect both probes read alike and the warm-up changes nothing.
 * Returns ms per GiB written, first touch and recycled.
 */
function warmPageCache(bytes: number): { firstTouch: number; recycled: number } {
  const chunk = Buffer.alloc(1 << 20, 0x61);
  const write = (total: number) => {
    const file = path.join(tmp, 'page-cache-warm-up');
    const fd = fs.openSync(file, 'w', 0o600);
    const t0 = performance.now();
    for (let done = 0; done < total; done += chunk.length) fs.writeSync(fd, chunk);
    const ms = performance.now() - t0;
    fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    fs.unlinkSync(file);
    return (ms * 2 ** 30) / total;
  };
  const firstTouch = write(bytes);
  return { firstTouch, recycled: write(Math.min(bytes, 2 ** 29)) };
}

async function benchPino(sync: boolean, n: number): Promise<{ rate: number; rssMiB: number }> {
  const file = path.join(tmp, `pino-${sync ? 'sync' : 'async'}.log`);
  const dest = pino.destination({ dest: file, sync, minLength: sync ? 0 : 4096 });
  const logger = pino(dest);
  const t0 = performance.now();
  const rssMiB = await emitAll((i) => logger.info(events[i % 1000]!), n);
  await new Promise<void>((resolve) => {
    if (sync) {
      dest.flushSync();
      resolve();
    } else dest.flush(() => resolve());
  });
  const fd = fs.openSync(file, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const t1 = performance.now();
  dest.end();
  fs.rmSync(file);
  return { rate: n / ((t1 - t0) / 1000), rssMiB };
}

async function benchEmitLatency(): Promise<{ p50: number; p99: number }> {
  const dir = path.join(tmp, 'latency');
  const trail = await AuditTrail.open({ dir, handleExit: false });
  const samples = new Float64Array(200_000);
  let k = 0;
  await emitAll((i) => {
    const t = process.hrtime.bigint();
    trail.emit(events[i % 1000]!);
    samples[k++] = Number(process.hrtime.bigint() - t) / 1000;
  }, samples.length);
  await trail.close();
  fs.rmSync(dir, { recursive: true });
  const sorted = Array.from(samples)
    .slice(20_000)
    .sort((a, b) => a - b); // after warm-up
  return { p50: sorted[Math.floor(sorted.length * 0.5)]!, p99: sorted[Math.floor(sorted.length * 0.99)]! };
}

function benchAppend(n: number): { sealtrail: number; pino: number } {
  const input = path.join(tmp, 'events.jsonl');
  const fd = fs.openSync(input, 'w');
  for (let i = 0; i < n; i += 1000) {
    fs.writeSync(
      fd,
      `${events
        .slice(0, Math.min(1000, n - i))
        .map((e) => JSON.stringify(e))
        .join('\n')}\n`,
    );
  }
  fs.closeSync(fd);
  const dir = path.join(tmp, 'append');
  const bin = path.join(here, '..', 'dist', 'cli', 'bin.js');
  spawnSync(process.execPath, [bin, 'init', '--dir', dir], { encoding: 'utf8' });
  let t0 = performance.now();
  const a = spawnSync(process.execPath, [bin, 'append', '--dir', dir], {
    stdio: [fs.openSync(input, 'r'), 'ignore', 'inherit'],
  });
  const sealtrailRate = n / ((performance.now() - t0) / 1000);
  if (a.status !== 0) throw new Error('sealtrail append failed');
  t0 = performance.now();
  const p = spawnSync(
    process.execPath,
    [path.join(here, 'pino-ingest.mjs'), path.join(tmp, 'pino-ingest.log')],
    {
      stdio: [fs.openSync(input, 'r'), 'ignore', 'inherit'],
    },
  );
  const pinoRate = n / ((performance.now() - t0) / 1000);
  if (p.status !== 0) throw new Error('pino ingest failed');
  for (const done of [input, dir, path.join(tmp, 'pino-ingest.log')]) fs.rmSync(done, { recursive: true });
  return { sealtrail: sealtrailRate, pino: pinoRate };
}

/** Inclusion proofs of random entries, each in a fresh process: through the library, and the CLI. */
function coldProofs(dir: string, entries: number): { library: string; cli: string } {
  const imports: number[] = [];
  const proofs: number[] = [];
  const cli: number[] = [];
  for (let k = 0; k < 5; k++) {
    const seq = String(Math.floor(Math.random() * entries));
    const run = spawnSync(process.execPath, [path.join(here, 'prove-cold.mjs'), dir, seq], {
      encoding: 'utf8',
    });
    const { importMs, proofMs } = JSON.parse(run.stdout) as { importMs: number; proofMs: number };
    imports.push(importMs);
    proofs.push(proofMs);
    const t = performance.now();
    const bin = path.join(here, '..', 'dist', 'cli', 'bin.js');
    const res = spawnSync(process.execPath, [bin, 'prove', '--dir', dir, '--seq', seq, '--json']);
    cli.push(performance.now() - t);
    if (res.status !== 0) throw new Error(`sealtrail prove failed: ${res.stderr}`);
  }
  return {
    library: `${median(imports).toFixed(1)} / ${median(proofs).toFixed(2)}`,
    cli: median(cli).toFixed(1),
  };
}

/** The measured phases; `main` runs each in a process of its own (`phase`). */
const PHASES = {
  worker: (n: number) => benchSealtrail(true, n),
  inline: async (n: number) => {
    const run = await benchSealtrail(false, n);
    fs.rmSync(run.dir, { recursive: true });
    return run;
  },
  'pino-sync': (n: number) => benchPino(true, n),
  'pino-async': (n: number) => benchPino(false, n),
  redact: async (n: number) => {
    const run = await benchSealtrail(true, n, { redact: true }, 'redact');
    fs.rmSync(run.dir, { recursive: true });
    return run;
  },
  encrypt: async (n: number) => {
    const keys = KeyRing.fromKeys([{ id: 'bench', key: crypto.randomBytes(32) }]);
    const run = await benchSealtrail(true, n, { redact: true, content: 'encrypt', keys }, 'encrypt');
    fs.rmSync(run.dir, { recursive: true });
    return run;
  },
  caller: async (n: number) => ({ us: await benchCallerCost(n) }),
  latency: () => benchEmitLatency(),
};
type Phase = keyof typeof PHASES;

/**
 * Runs one phase in a fresh process and returns its result. Run one after another in one
 * process, phases slowed each other: after pino's async destination had taken a million
 * records, the run with redaction fell from 111,447 to 50,933 events/s (measured 2026-12-06).
 */
function phase<P extends Phase>(name: P, n: number): Awaited<ReturnType<(typeof PHASES)[P]>> {
  const run = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--phase', name, String(n)],
    { encoding: 'utf8', env: { ...process.env, [PHASE_DIR_ENV]: tmp }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (run.status !== 0) throw new Error(`bench phase ${name} failed (exit ${run.status})`);
  return JSON.parse(run.stdout) as Awaited<ReturnType<(typeof PHASES)[P]>>;
}

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  console.log(
    `machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  );
  console.log(`records: ${fmt(N)} AI events of ~${recordBytes} bytes (JSON)\n`);
  // The machine's hashing speed sets the writer's ceiling (3–4 SHA-256 per entry): report it.
  const probe = 'x'.repeat(1200);
  for (let i = 0; i < 20_000; i++) crypto.hash('sha256', probe + i, 'buffer');
  const h0 = performance.now();
  for (let i = 0; i < 200_000; i++) crypto.hash('sha256', probe + i, 'buffer');
  record(
    'machine: one-shot SHA-256 of a 1,200-byte string (µs)',
    (((performance.now() - h0) * 1000) / 200_000).toFixed(2),
  );
  // What a run keeps at once: the worker trail (kept for verify and prove) and one phase's files.
  const warm = warmPageCache(Math.max(2 ** 28, 3500 * N));
  record(
    'machine: page-cache write, memory touched first / recycled (ms per GiB)',
    `${fmt(warm.firstTouch)} / ${fmt(warm.recycled)}`,
  );
  // The peers run in alternating rounds, so that a slow spell of the host falls on all of them
  // alike; each line gives the median of its rounds, then the range.
  type Run = Awaited<ReturnType<typeof benchSealtrail>>;
  const workers: Run[] = [];
  const inlines: Run[] = [];
  const syncs: Array<{ rate: number; rssMiB: number }> = [];
  const asyncs: Array<{ rate: number; rssMiB: number }> = [];
  // With redaction, and with redaction + encryption: in the same rounds, so that they meet the
  // host in the same states as the peers above (a later phase of a long run was up to three
  // times slower than the same phase run first; measured 2026-12-06).
  const protectN = Math.min(N, 300_000);
  const redacts: Run[] = [];
  const encrypts: Run[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // The last worker trail is kept for verify and prove; every other run's files are deleted.
    if (workers.length > 0) fs.rmSync(workers.at(-1)!.dir, { recursive: true });
    workers.push(phase('worker', N));
    inlines.push(phase('inline', N));
    syncs.push(phase('pino-sync', N));
    asyncs.push(phase('pino-async', N));
    redacts.push(phase('redact', protectN));
    encrypts.push(phase('encrypt', protectN));
  }
  const worker = { ...workers.at(-1)!, rate: median(workers.map((r) => r.rate)) };
  const inline = { ...inlines.at(-1)!, rate: median(inlines.map((r) => r.rate)) };
  const rounds = (runs: Array<{ rate: number }>) => {
    const rates = runs.map((r) => r.rate);
    return ROUNDS === 1
      ? fmt(rates[0]!)
      : `${fmt(median(rates))} (${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))})`;
  };
  record(`sealtrail emit+flush, durable, worker thread (events/s, ${ROUNDS} rounds)`, rounds(workers));
  record('sealtrail emit+flush, durable, inline (events/s)', rounds(inlines));
  record('pino sync destination to file, fsynced (events/s)', rounds(syncs));
  record('pino async destination to file, fsynced (events/s)', rounds(asyncs));
  const bestOf = (i: number) => Math.max(workers[i]!.rate, inlines[i]!.rate);
  const pinoOf = (i: number) => Math.max(syncs[i]!.rate, asyncs[i]!.rate);
  const ratios = workers.map((_, i) => bestOf(i) / pinoOf(i));
  const ratio =
    Math.max(worker.rate, inline.rate) /
    Math.max(median(syncs.map((r) => r.rate)), median(asyncs.map((r) => r.rate)));
  record(
    'ratio sealtrail (best mode) / faster pino mode, medians (each round)',
    `${ratio.toFixed(2)}x (${ratios.map((r) => r.toFixed(2)).join(', ')})`,
  );
  record(
    'peak resident memory growth: sealtrail worker run / pino sync run (MiB)',
    `${Math.max(...workers.map((r) => r.rssMiB)).toFixed(0)} / ${Math.max(...syncs.map((r) => r.rssMiB)).toFixed(0)}`,
  );
  record(`sealtrail emit+flush with redaction, ${fmt(protectN)} events (events/s)`, rounds(redacts));
  record(
    `sealtrail emit+flush with redaction + AES-256-GCM per subject, ${fmt(protectN)} events (events/s)`,
    rounds(encrypts),
  );
  const redactor = createRedactor();
  for (let i = 0; i < 20_000; i++) redactor(events[i % 1000]);
  const r0 = performance.now();
  for (let i = 0; i < 200_000; i++) redactor(events[i % 1000]);
  record(
    'redaction of one event on the caller (µs)',
    (((performance.now() - r0) * 1000) / 200_000).toFixed(2),
  );
  const callerN = Math.min(N, 200_000);
  record(
    `caller event-loop time per event, worker, queue never full, ${fmt(callerN)} events (µs)`,
    phase('caller', callerN).us.toFixed(2),
  );
  record(
    'caller event-loop time per event during the worker run above (µs, includes waits)',
    worker.loopUsPerEvent.toFixed(2),
  );
  record('caller event-loop time per event, inline (µs)', inline.loopUsPerEvent.toFixed(2));
  const lat = phase('latency', 0);
  record('emit() caller-side p50 (µs)', lat.p50.toFixed(2));
  record('emit() caller-side p99 (µs)', lat.p99.toFixed(2));
  const appendN = Math.min(N, 200_000);
  const ap = benchAppend(appendN);
  record(`sealtrail append from stdin, ${fmt(appendN)} lines (events/s)`, fmt(ap.sealtrail));
  record(`pino ingest of the same lines: parse + log (events/s)`, fmt(ap.pino));
  record('ratio append / pino ingest', `${(ap.sealtrail / ap.pino).toFixed(2)}x`);
  const v0 = performance.now();
  const report = verifyDir(worker.dir);
  const vRate = report.entries / ((performance.now() - v0) / 1000);
  if (!report.ok) throw new Error(`verify failed: ${report.failure?.message}`);
  record(`verify, ${fmt(report.entries)} entries (entries/s)`, fmt(vRate));
  const proofs = proofTimes(worker.dir, report.entries);
  record(
    `inclusion proof in a ${fmt(report.entries)}-entry trail, p50 / p99 / max of 200 after 20 (ms)`,
    spread(proofs.sorted),
  );
  record('the first proof in that process (ms)', proofs.first.toFixed(2));
  const cold = coldProofs(worker.dir, report.entries);
  record('inclusion proof in a fresh process, median of 5: library import / proof (ms)', cold.library);
  record('sealtrail prove --json in a fresh process, median of 5, wall (ms)', cold.cli);
  if (process.argv.includes('--write')) {
    const rows: Array<[string, string]> = [['measure', 'result'], ...results];
    const w0 = Math.max(...rows.map(([k]) => k.length));
    const w1 = Math.max(...rows.map(([, v]) => v.length));
    const line = ([k, v]: [string, string]) => `| ${k.padEnd(w0)} | ${v.padStart(w1)} |`;
    const table = [
      line(rows[0]!),
      `| ${'-'.repeat(w0)} | ${'-'.repeat(w1 - 1)}: |`,
      ...rows.slice(1).map(line),
    ].join('\n');
    const doc = fs.readFileSync(path.join(here, '..', 'docs', 'benchmarks.md'), 'utf8');
    const marker = /<!-- results -->[\s\S]*<!-- \/results -->/;
    const block = `<!-- results -->\nMachine: ${cpu}, ${os.cpus().length} cores, node ${process.version}; ${fmt(N)} records of ~${recordBytes} bytes.\n\n${table}\n<!-- /results -->`;
    fs.writeFileSync(path.join(here, '..', 'docs', 'benchmarks.md'), doc.replace(marker, block));
  }
}

if (inPhase) {
  const at = process.argv.indexOf('--phase');
  const result = await PHASES[process.argv[at + 1] as Phase](Number(process.argv[at + 2]));
  process.stdout.write(JSON.stringify(result));
} else {
  try {
    await main();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true }); // also when a phase failed: the trails are large
  }
}
