/**
 * Starts the package's worker threads with the process's Node options. A worker inherits them by
 * default, and Node passes them on as they apply to a thread; but a worker loaded from a file
 * refuses `--input-type` (given with `node -e`), and a list given explicitly may hold no V8 or
 * process-wide option (`--expose-gc`, `--max-old-space-size`, ...). So a list is given only to
 * leave `--input-type` out, and should Node refuse what remains, none is. (`--input-type` in
 * NODE_OPTIONS is out of reach: a worker reads NODE_OPTIONS again, whatever list it is given.)
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(url: URL, options: WorkerOptions): Worker {
  const argv = process.execArgv;
  const execArgv: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    // `--input-type module` takes the next argument as its value; `--input-type=module` does not.
    if (argv[i] === '--input-type') i++;
    else if (!argv[i]!.startsWith('--input-type=')) execArgv.push(argv[i]!);
  }
  if (execArgv.length === argv.length) return new Worker(url, options);
  try {
    return new Worker(url, { ...options, execArgv });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    return new Worker(url, { ...options, execArgv: [] });
  }
}

/**
 * Starts the worker module `name` (no extension) that lies beside the caller, `here` being the
 * caller's `import.meta.url`: the built `name.js` from a package, or, from TypeScript sources
 * (tests, tsx), `name.ts` through writer/worker-from-source.mjs, which registers tsx in the new
 * thread first. `workerData` must then be an object: the loader reads its `entry`.
 */
export function startModuleWorker(here: string, name: string, options: WorkerOptions): Worker {
  if (!here.endsWith('.ts')) return startWorker(new URL(`./${name}.js`, here), options);
  return startWorker(new URL('./writer/worker-from-source.mjs', import.meta.url), {
    ...options,
    workerData: { ...(options.workerData as object), entry: new URL(`./${name}.ts`, here).href },
  });
}
