// Loads a worker thread of the package from its TypeScript source (tests and development only):
// registers tsx in this thread, then imports the module named by workerData.entry. Built packages
// load the compiled .js directly (worker-start.ts, startModuleWorker).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
