// Loads the writer worker from its TypeScript source (tests and development only):
// registers tsx in this thread, then imports worker.ts. Built packages use worker.js directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
