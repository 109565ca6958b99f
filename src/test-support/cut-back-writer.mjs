// Child process of the cut-back tests (store/append-thread.test.ts, store/segment-log.test.ts):
// one batch that a file-size limit cuts short, on a file made append-only (chattr +a) so that
// the part written cannot be cut back either. Then the limit is lifted, and after it the
// append-only flag, and the batch is written again until it is in the file. The parent reads the
// file. `thread`: the append thread writes; `segment-log`: SegmentLog.append on this thread;
// `segment-log-rotate`: the same, but the segment is sealed after the failed write instead;
// `segment-log-close`: closed instead (a writer syncs it so before its `close` checkpoint).
// Needs root, chattr and prlimit.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AppendThread } from '../../dist/store/append-thread.js';
import { trailLayout } from '../../dist/store/layout.js';
import { SegmentLog } from '../../dist/store/segment-log.js';

const [mode, dir] = process.argv.slice(2);
const pause = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(pause, 0, 0, ms);
const head = Buffer.from(`${'a'.repeat(999)}\n`);
const batch = Buffer.from(`${'b'.repeat(4999)}\n`);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
}
/** Sets the soft limit only: lifting it again needs no privilege. */
const limitFileSize = (limit) => run('prlimit', [`--pid=${process.pid}`, `--fsize=${limit}:`]);

/**
 * Calls `attempt` until it does not throw STORE_IO; the first call must throw it. Then the limit
 * and the append-only flag are lifted.
 */
function untilWritten(attempt, file) {
  let failed = false;
  for (;;) {
    try {
      attempt();
      if (!failed) throw new Error('the first write did not fail');
      return;
    } catch (err) {
      if (err.code !== 'STORE_IO') throw err;
      if (!failed) {
        failed = true; // part of the batch was written, then EFBIG
        limitFileSize('unlimited');
        run('chattr', ['-a', file]);
      } else sleep(20);
    }
  }
}

if (mode === 'thread') {
  const file = path.join(dir, 'thread.log');
  fs.writeFileSync(file, head, { mode: 0o600 });
  const fd = fs.openSync(file, 'a');
  run('chattr', ['+a', file]);
  limitFileSize(4096);
  const thread = AppendThread.start({ onWritten: () => undefined, onError: () => undefined });
  thread.write(fd, batch, head.length, file);
  untilWritten(() => thread.waitIdle(file), file);
  await thread.terminate();
  fs.closeSync(fd);
} else {
  const layout = trailLayout(dir);
  fs.mkdirSync(layout.dir, { recursive: true });
  const log = SegmentLog.open(layout);
  const ts = new Date().toISOString();
  log.append(head, 1, ts, ts, Date.now());
  log.sync();
  const file = path.join(layout.segmentsDir, fs.readdirSync(layout.segmentsDir)[0]);
  run('chattr', ['+a', file]);
  limitFileSize(4096);
  if (mode === 'segment-log') untilWritten(() => log.append(batch, 1, ts, ts, Date.now()), file);
  else {
    let first = true;
    untilWritten(() => {
      if (first) {
        first = false;
        log.append(batch, 1, ts, ts, Date.now());
      }
    }, file);
    if (mode === 'segment-log-rotate') log.rotate(1, Buffer.alloc(32));
  }
  log.close();
}
