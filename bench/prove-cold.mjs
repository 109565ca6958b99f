// One inclusion proof in a fresh process, from the built library: prints the import of the
// library and the proof call in ms, as JSON. Usage: node bench/prove-cold.mjs DIR SEQ
import { performance } from 'node:perf_hooks';

const [dir, seq] = process.argv.slice(2);
const t0 = performance.now();
const { proveInclusion } = await import('../dist/index.js');
const t1 = performance.now();
proveInclusion(dir, { seq: Number(seq) });
const t2 = performance.now();
console.log(JSON.stringify({ importMs: t1 - t0, proofMs: t2 - t1 }));
