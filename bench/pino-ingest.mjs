// The peer of `sealtrail append`: reads JSON lines on stdin, parses each and logs it with pino to
// a file (async destination), then flushes and fsyncs. Used by bench/run.ts.
import fs from 'node:fs';
import pino from 'pino';

const file = process.argv[2];
const dest = pino.destination({ dest: file, sync: false, minLength: 4096 });
const logger = pino(dest);
let carry = '';
for await (const chunk of process.stdin) {
  const text = carry + chunk.toString('utf8');
  const lines = text.split('\n');
  carry = lines.pop();
  for (const line of lines) if (line !== '') logger.info(JSON.parse(line));
}
if (carry.trim() !== '') logger.info(JSON.parse(carry));
await new Promise((resolve) => dest.flush(resolve));
const fd = fs.openSync(file, 'r');
fs.fsyncSync(fd);
fs.closeSync(fd);
dest.end();
