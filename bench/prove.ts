/**
 * Inclusion proof timing on a kept trail (`PROVE_DIR`, default /tmp/sealtrail-prove-1m, built once
 * with `BENCH_N` entries, default 1,000,000): the module import, the first proof in this fresh
 * process, then p50 / p99 / max over 200 random seqs after 19 of warm-up (bench/proof-times.ts);
 * then 5 proofs each in a fresh process (bench/prove-cold.mjs, from dist/) and through the CLI
 * `prove`. Last, the same in a copy of the trail whose sealed segments are all gzip-archived
 * (`<dir>-archived`, also kept).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.BENCH_N ?? 1_000_000);
const dir = process.env.PROVE_DIR ?? '/tmp/sealtrail-prove-1m';
const here = path.dirname(fileURLToPath(import.meta.url));
const i0 = performance.now();
const { AuditTrail, trailStatus } = (await import('./built.js')).built;
const importMs = performance.now() - i0;
const { cachedTrail } = await import('./cached-trail.js');
const { aiEvent } = await import('./records.js');
const { proofTimes, spread } = await import('./proof-times.js');

await cachedTrail(
  dir,
  (n) => n >= N,
  async (d) => {
    const events = Array.from({ length: 1000 }, (_, i) => aiEvent(i));
    const trail = await AuditTrail.open({ dir: d, handleExit: false });
    for (let i = 0; i < N; ) {
      const end = Math.min(N, i + 2000);
      for (; i < end; i++) trail.emit(events[i % 1000]!);
      await new Promise<void>((r) => setImmediate(r));
    }
    await trail.close();
  },
);
const entries = trailStatus(dir).entries;

const firstSeq = Number(process.env.FIRST_SEQ ?? entries - 1);
const { first, sorted } = proofTimes(dir, entries, firstSeq);
console.log(`entries ${entries}; import of the library ${importMs.toFixed(1)} ms`);
console.log(`first proof in this process ${first.toFixed(2)} ms`);
console.log(`p50 / p99 / max of 200 after 20 ${spread(sorted)} ms`);
const bin = path.join(here, '..', 'dist', 'cli', 'bin.js');
const lib: string[] = [];
const cli: number[] = [];
for (let k = 0; k < 5; k++) {
  const seq = String(Math.floor(Math.random() * entries));
  lib.push(
    execFileSync(process.execPath, [path.join(here, 'prove-cold.mjs'), dir, seq], {
      encoding: 'utf8',
    }).trim(),
  );
  const t = performance.now();
  execFileSync(process.execPath, [bin, 'prove', '--dir', dir, '--seq', seq, '--json']);
  cli.push(performance.now() - t);
}
console.log(`fresh processes, library import and proof (ms): ${lib.join(' ')}`);
console.log(`CLI prove --json in a fresh process, wall (ms): ${cli.map((x) => x.toFixed(1)).join(' ')}`);

const archived = `${dir}-archived`;
await cachedTrail(
  archived,
  (n) => n === entries,
  async (d) => {
    const store = (await import(
      path.join(here, '..', 'dist', 'store', 'index.js')
    )) as typeof import('../src/store/index.js');
    fs.cpSync(dir, d, { recursive: true });
    for (const ref of store.listSegments(store.trailLayout(d).segmentsDir)) {
      const summary = store.readSummary(ref);
      if (summary !== undefined) store.archiveSegment(ref, summary);
    }
  },
);
const cold = proofTimes(archived, entries, firstSeq);
console.log(
  `every sealed segment archived: first proof ${cold.first.toFixed(2)} ms; p50 / p99 / max of 200 after 20 ${spread(cold.sorted)} ms`,
);
