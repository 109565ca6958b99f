/** A benchmark's trail, built once and kept between runs while it holds enough entries. */
import fs from 'node:fs';
import { trailStatus } from '../src/index.js';

/** Reuses the trail in `dir` when `enough(entries)` holds for it, else builds it afresh. */
export async function cachedTrail(
  dir: string,
  enough: (entries: number) => boolean,
  build: (dir: string) => Promise<void>,
): Promise<void> {
  let reuse = false;
  try {
    reuse = enough(trailStatus(dir).entries);
  } catch {
    reuse = false; // no trail there yet
  }
  if (reuse) console.log(`reusing the trail in ${dir}`);
  else {
    fs.rmSync(dir, { recursive: true, force: true });
    await build(dir);
  }
}
