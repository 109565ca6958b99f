/**
 * The Vercel AI SDK: middleware for model calls, telemetry for tool runs and steps.
 * Offline with the SDK's mock model. Run: npx tsx examples/ai-sdk/index.ts
 */
import { generateText, stepCountIs, tool, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';
import { audit } from '../../src/index.js';
import { sealtrailMiddleware, sealtrailTelemetry } from '../../src/integrations/ai-sdk/index.js';
import { exampleDir, showTrail } from '../shared.js';

const dir = exampleDir('ai-sdk');
await audit.enable({ destination: dir, environment: 'development', content: 'plain' });

const usage = {
  inputTokens: { total: 20, noCache: 20, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 8, text: 8, reasoning: 0 },
};
const mock = new MockLanguageModelV3({
  provider: 'mock',
  modelId: 'mock-model',
  doGenerate: [
    {
      content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'weather', input: '{"city":"Oslo"}' }],
      finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
      usage,
      warnings: [],
    },
    {
      content: [{ type: 'text', text: 'It is 3 °C in Oslo.' }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage,
      warnings: [],
    },
  ],
});

const model = wrapLanguageModel({ model: mock, middleware: sealtrailMiddleware() });
const { text } = await generateText({
  model,
  prompt: 'Weather in Oslo?',
  tools: {
    weather: tool({
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => ({ city, celsius: 3 }),
    }),
  },
  stopWhen: stepCountIs(3),
  experimental_telemetry: { isEnabled: true, integrations: sealtrailTelemetry() },
});
console.log(`answer: ${text}`);
await audit.disable();
await showTrail(dir);
