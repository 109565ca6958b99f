// Child process of the append thread's test: writes events with emitDurable in a loop under a
// file-size limit (set by the parent), printing each event's number once its emitDurable
// resolved. Once a segment reaches the limit its writes fail; the parent then kills it.
import fs from 'node:fs';
import { AuditTrail } from '../../dist/index.js';

const dir = process.argv[2];
const trail = await AuditTrail.open({ dir, handleExit: false });
const text = 'x'.repeat(1000);
for (let i = 0; ; i++) {
  await trail.emitDurable({ type: 'x.disk.full', meta: { i }, content: { prompt: `${i} ${text}` } });
  fs.writeSync(1, `${i}\n`);
}
