#!/usr/bin/env node
/** Entry point of the `sealtrail` executable. */
import { watchStdout } from './common.js';
import { main } from './main.js';

watchStdout();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 2;
  },
);
