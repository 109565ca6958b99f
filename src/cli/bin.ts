#!/usr/bin/env node
/** Entry point of the `sealtrail` executable. */
import { renderVisible } from '../event/index.js';
import { stdoutError, watchStdout } from './common.js';
import { main } from './main.js';

watchStdout();
// Output that could not be written (a full disk) is an I/O error, told once the verb is done
// (its read recorded): one line and exit 2, unless the verb already failed with its own line; an
// integrity failure (exit 1) keeps its exit code, which says more.
process.once('exit', () => {
  const err = stdoutError();
  if (err === undefined || process.exitCode === 2) return;
  process.stderr.write(`sealtrail: ${renderVisible(`stdout: ${err.message}`)}\n`);
  if (process.exitCode !== 1) process.exitCode = 2;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 2;
  },
);
