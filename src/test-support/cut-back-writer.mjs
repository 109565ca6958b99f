// Child process of the append thread's test: queues one batch that a file-size limit cuts short,
// on a file made append-only (chattr +a) so that the thread cannot cut the part written back
// either. Then it lifts the limit, and after it the append-only flag, and waits until the thread
// has written the batch. The parent reads the file. Needs root, chattr and prlimit.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { AppendThread } from '../../dist/store/append-thread.js';

const file = process.argv[2];
const head = `${'a'.repeat(999)}\n`;
fs.writeFileSync(file, head, { mode: 0o600 });
const fd = fs.openSync(file, 'a');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
}
const pause = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(pause, 0, 0, ms);

run('chattr', ['+a', file]);
run('prlimit', [`--pid=${process.pid}`, '--fsize=4096:']);
const thread = AppendThread.start({ onWritten: () => undefined, onError: () => undefined });
thread.write(fd, Buffer.from(`${'b'.repeat(4999)}\n`), head.length, file);
for (;;) {
  try {
    thread.waitIdle(file);
    throw new Error('the write did not fail');
  } catch (err) {
    if (err.code === 'STORE_IO') break; // part of it was written, then EFBIG
    throw err;
  }
}
run('prlimit', [`--pid=${process.pid}`, '--fsize=unlimited:']);
run('chattr', ['-a', file]);
for (;;) {
  try {
    thread.waitIdle(file);
    break;
  } catch (err) {
    if (err.code !== 'STORE_IO') throw err;
    sleep(20);
  }
}
await thread.terminate();
fs.closeSync(fd);
