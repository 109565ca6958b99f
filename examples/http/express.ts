/**
 * Attribution from the request: the middleware fills every event with the user, client IP,
 * request id, trace id and conversation turn. Run: npx tsx examples/http/express.ts
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { audit } from '../../src/index.js';
import { sealtrailExpress } from '../../src/integrations/express/index.js';
import { exampleDir, showTrail } from '../shared.js';

const dir = exampleDir('express');
await audit.enable({ destination: dir, environment: 'development', content: 'plain' });

const app = express();
app.use(express.json());
app.use(sealtrailExpress({ trustProxy: ['loopback'] })); // X-Forwarded-For believed only from loopback
app.post('/chat', (req, res) => {
  audit.setUser({ id: String(req.headers.authorization).replace('Bearer ', ''), authMethod: 'bearer_token' });
  audit.modelCall({ provider: 'openai', model: 'gpt-4o', prompt: req.body.prompt, response: 'Hello!' });
  res.json({ ok: true });
});
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chat`;
for (const [user, ip] of [
  ['alice', '198.51.100.1'],
  ['bob', '198.51.100.2'],
  ['alice', '198.51.100.1'],
]) {
  await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${user}`,
      'x-forwarded-for': ip!,
      'x-conversation-id': `conv-${user}`,
    },
    body: JSON.stringify({ prompt: `hi from ${user}` }),
  });
}
server.close();
await audit.disable();
await showTrail(dir);
