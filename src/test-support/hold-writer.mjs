// Child process of the read-audit tests: holds a trail open for writing (the writer lock) until
// its stdin closes, then closes the trail and exits.
import { AuditTrail } from '../../dist/index.js';

const trail = await AuditTrail.open({ dir: process.argv[2], create: false, handleExit: false });
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  await trail.close();
  process.exit(0);
});
