/**
 * Zero-config in a few lines: `audit.enable()`, typed helpers, a request/response pair.
 * Run: npx tsx examples/getting-started/index.ts
 */
import { audit } from '../../src/index.js';
import { exampleDir, showTrail } from '../shared.js';

const dir = exampleDir('getting-started');
await audit.enable({ destination: dir, environment: 'development', content: 'plain' });

audit.auth({ userId: 'user-42', method: 'oidc' });
const call = audit.modelRequest({
  provider: 'openai',
  model: 'gpt-4o',
  prompt: 'Summarize my last order. My email is jane.doe@example.com',
  actor: { id: 'user-42' },
  conversation: { id: 'conv-1', turn: 1 },
});
call.respond({
  response: 'You ordered one blue kettle.',
  usage: { inputTokens: 18, outputTokens: 7 },
  finishReason: 'stop',
});
audit.guardrail({
  name: 'pii-output',
  decision: 'allow',
  stage: 'output',
  conversation: { id: 'conv-1', turn: 1 },
});
audit.dataAccess({ resource: { type: 'order', id: 'o-981' }, action: 'read', subject: 'user-42' });

await audit.disable(); // flushes and closes; a process that just ends loses nothing either
await showTrail(dir);
