/**
 * `npm run bench:integrations`: what each integration adds to one call, the model excluded. Each
 * pair runs the same call bare and observed (into a memory trail through `audit`, redaction on,
 * content plain), with the model answering at once: the AI SDK's mock model, an OpenAI client
 * whose `fetch` returns a canned response, LangChain's fake chat model. The HTTP middleware is
 * timed around a handler that emits one event. Medians of 5 rounds; the machine is named, and
 * other processes may be running on it.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { generateText, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import OpenAI from 'openai';
import { audit } from '../src/index.js';
import { sealtrailMiddleware } from '../src/integrations/ai-sdk/index.js';
import { runWithRequestContext } from '../src/integrations/context/index.js';
import { sealtrailExpress } from '../src/integrations/express/index.js';
import { SealtrailCallbackHandler } from '../src/integrations/langchain/index.js';
import { auditOpenAI } from '../src/integrations/openai/index.js';

const ROUNDS = 5;
const PROMPT = 'Summarize the refund policy for order 1234 in two sentences, please.';

async function timePerCall(fn: () => Promise<unknown> | unknown, calls: number): Promise<number> {
  for (let i = 0; i < Math.min(200, calls); i++) await fn(); // warm-up
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    rounds.push(((performance.now() - t0) * 1000) / calls);
    await audit.flush();
  }
  rounds.sort((x, y) => x - y);
  return rounds[Math.floor(ROUNDS / 2)]!;
}

function mockModel(): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    provider: 'mock',
    modelId: 'mock-model',
    doGenerate: async () => ({
      content: [{ type: 'text', text: 'Refunds are accepted within 30 days of delivery.' }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: {
        inputTokens: { total: 20, noCache: 20, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: 10, text: 10, reasoning: 0 },
      },
      warnings: [],
    }),
  });
}

const completion = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 0,
  model: 'gpt-4o',
  choices: [
    {
      index: 0,
      logprobs: null,
      finish_reason: 'stop',
      message: { role: 'assistant', content: 'Refunds within 30 days.', refusal: null },
    },
  ],
  usage: { prompt_tokens: 20, completion_tokens: 6, total_tokens: 26 },
});

function openaiClient(): OpenAI {
  return new OpenAI({
    apiKey: 'sk-bench',
    baseURL: 'http://bench.invalid/v1',
    maxRetries: 0,
    // No network: the model answers at once, so only the SDK and the observer are timed.
    fetch: async () =>
      new Response(completion, { status: 200, headers: { 'content-type': 'application/json' } }),
  });
}

async function main(): Promise<void> {
  await audit.enable({ destination: 'memory', environment: 'test', content: 'plain' });
  const rows: Array<[string, number, number]> = [];
  const pair = async (name: string, calls: number, bare: () => unknown, observed: () => unknown) => {
    const b = await timePerCall(bare, calls);
    const o = await timePerCall(observed, calls);
    rows.push([name, b, o]);
  };

  const plainModel = mockModel();
  const wrapped = wrapLanguageModel({ model: mockModel(), middleware: sealtrailMiddleware() });
  await pair(
    'ai-sdk generateText + sealtrailMiddleware',
    2000,
    () => generateText({ model: plainModel, prompt: PROMPT }),
    () => generateText({ model: wrapped, prompt: PROMPT }),
  );

  const bareClient = openaiClient();
  const observedClient = auditOpenAI(openaiClient());
  const chat = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: PROMPT }] };
  await pair(
    'openai chat.completions.create + auditOpenAI',
    2000,
    () => bareClient.chat.completions.create(chat),
    () => observedClient.chat.completions.create(chat),
  );

  const lcBare = new FakeListChatModel({ responses: ['Refunds within 30 days.'] });
  const lcObserved = new FakeListChatModel({ responses: ['Refunds within 30 days.'] });
  const handler = new SealtrailCallbackHandler();
  await pair(
    'langchain chat model invoke + SealtrailCallbackHandler',
    1000,
    () => lcBare.invoke(PROMPT),
    () => lcObserved.invoke(PROMPT, { callbacks: [handler] }),
  );

  // HTTP attribution: the middleware around a handler that emits one event, versus the handler alone.
  const mw = sealtrailExpress({ trustProxy: ['loopback'] });
  // A request and a response per call, emitters as Node's are (the middleware binds their events
  // to the request's context); made on both sides, so that only the middleware's work differs.
  const exchange = () => ({
    req: Object.assign(new EventEmitter(), {
      socket: { remoteAddress: '127.0.0.1' },
      headers: {
        'x-forwarded-for': '203.0.113.7',
        'user-agent': 'bench/1.0',
        'x-conversation-id': 'conv-1',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      },
    }) as never,
    res: new EventEmitter() as never,
  });
  const handle = () => audit.modelCall({ model: 'm', prompt: PROMPT, response: 'ok' });
  await pair(
    'express middleware (context + one emit) vs emit alone',
    20000,
    () => {
      exchange();
      return runWithRequestContext({}, handle);
    },
    () => {
      const { req, res } = exchange();
      return new Promise<void>((resolve) => mw(req, res, () => resolve(void handle())));
    },
  );

  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  console.log(
    `machine: ${cpu}, ${os.cpus().length} cores, node ${process.version} (other processes may be running)`,
  );
  console.log('| call | bare (µs) | observed (µs) | overhead (µs) |');
  console.log('|---|---:|---:|---:|');
  for (const [name, b, o] of rows)
    console.log(`| ${name} | ${b.toFixed(1)} | ${o.toFixed(1)} | ${(o - b).toFixed(1)} |`);
  await audit.disable();
}

await main();
