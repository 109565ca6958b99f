/**
 * The OpenAI SDK observed with `auditOpenAI(client)`. With OPENAI_API_KEY set it calls OpenAI;
 * without, a local stand-in server answers. Run: npx tsx examples/openai/index.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { audit } from '../../src/index.js';
import { auditOpenAI } from '../../src/integrations/openai/index.js';
import { exampleDir, showTrail } from '../shared.js';

let server: http.Server | undefined;
let options: ConstructorParameters<typeof OpenAI>[0] = {};
if (!process.env.OPENAI_API_KEY) {
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'chatcmpl-local',
        object: 'chat.completion',
        created: 0,
        model: 'gpt-4o-mini',
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            logprobs: null,
            message: { role: 'assistant', content: 'Hello from the stand-in.', refusal: null },
          },
        ],
        usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 },
      }),
    );
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  options = { apiKey: 'sk-local', baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

const dir = exampleDir('openai');
await audit.enable({ destination: dir, environment: 'development', content: 'plain' });
const openai = auditOpenAI(new OpenAI(options));
const completion = await openai.chat.completions.create({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello in five words.' }],
});
console.log(`answer: ${completion.choices[0]?.message.content}`);
server?.close();
await audit.disable();
await showTrail(dir);
