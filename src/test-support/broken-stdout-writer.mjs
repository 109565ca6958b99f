// Child process of the stdout mirror's test: writes events to a trail directory with every stored
// line copied to stdout, whose reader is gone (the parent closed the pipe).
import { AuditTrail } from '../../dist/index.js';

const trail = await AuditTrail.open({ dir: process.argv[2], stdout: true, handleExit: false });
for (let i = 0; i < 50; i++) {
  trail.emit({ type: 'x.mirror', meta: { i } });
  if (i % 10 === 9) await trail.flush();
}
await trail.close();
