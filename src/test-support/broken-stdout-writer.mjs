// Child process of the stdout mirror's test: writes events to a trail directory with every stored
// line copied to stdout, whose reader is gone (the parent closed the pipe). It ends by saying on
// stderr how many failed copies the application saw on the diagnostics channel.
import diagnosticsChannel from 'node:diagnostics_channel';
import { AuditTrail, DIAGNOSTICS_CHANNEL } from '../../dist/index.js';

let copyFailures = 0;
diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNEL, (d) => {
  if (d.kind === 'write-failed' && d.message.startsWith('cannot copy stored entries')) copyFailures++;
});
const trail = await AuditTrail.open({ dir: process.argv[2], stdout: true, handleExit: false });
for (let i = 0; i < 50; i++) {
  trail.emit({ type: 'x.mirror', meta: { i } });
  if (i % 10 === 9) await trail.flush();
}
await trail.close();
process.stderr.write(`diagnostics seen: ${copyFailures > 0 ? 'copy failed' : 'none'}\n`);
