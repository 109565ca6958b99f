/**
 * The built package (`dist/`, which every `npm run bench*` script builds first), loaded as users
 * run it: its worker threads start from compiled JavaScript. Imported from the TypeScript sources
 * through tsx, every worker thread would compile the sources again (≈0.25 s of CPU each, measured
 * on verify's threads), which is the harness's cost, not the product's.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Api from '../src/index.js';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');

export const built = (await import(pathToFileURL(dist).href)) as typeof Api;
