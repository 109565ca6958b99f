/**
 * Inclusion proof timing shared by bench/run.ts and bench/prove.ts: the process's first proof,
 * which runs cold (code not yet optimized, the tree's tiles not yet read), on its own; then 19
 * proofs of warm-up; then 200 timed proofs of random entries.
 */
import { performance } from 'node:perf_hooks';
import { built } from './built.js';

/** Proofs timed after the warm-up, and proofs of warm-up after the first. */
const TIMED = 200;
const WARM_UP = 19;

export interface ProofTimes {
  /** The first proof, in ms. */
  first: number;
  /** The timed proofs, in ms, sorted. */
  sorted: number[];
}

/** Times proofs in the trail at `dir` of `entries` entries; the first proves `firstSeq` (default random). */
export function proofTimes(dir: string, entries: number, firstSeq?: number): ProofTimes {
  const times: number[] = [];
  for (let k = 0; k <= WARM_UP + TIMED; k++) {
    const seq = k === 0 && firstSeq !== undefined ? firstSeq : Math.floor(Math.random() * entries);
    const t = performance.now();
    built.proveInclusion(dir, { seq });
    times.push(performance.now() - t);
  }
  return { first: times[0]!, sorted: times.slice(1 + WARM_UP).sort((a, b) => a - b) };
}

/** `p50 / p99 / max` of sorted times, in ms. */
export function spread(sorted: number[]): string {
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return `${at(0.5).toFixed(2)} / ${at(0.99).toFixed(2)} / ${sorted.at(-1)!.toFixed(2)}`;
}
