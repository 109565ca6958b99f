// Child process of the crash test: writes events with emitDurable in a loop and prints each
// event's marker only after its emitDurable resolved. The parent kills it with SIGKILL.
import fs from 'node:fs';
import { AuditTrail } from '../../dist/index.js';

const dir = process.argv[2];
const start = Number(process.argv[3]);
const trail = await AuditTrail.open({ dir, handleExit: false });
for (let i = start; ; i++) {
  // A few plain emits ride along in the same group commit.
  const burst = [];
  for (let j = 0; j < 3; j++) burst.push(trail.emit({ type: 'x.crash.bulk', meta: { i, j } }));
  await trail.emitDurable({ type: 'x.crash.durable', meta: { i }, content: { prompt: `event ${i}` } });
  fs.writeSync(1, `${i}\n`);
}
