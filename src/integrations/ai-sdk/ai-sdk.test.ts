/**
 * The AI SDK integration with the real `ai` package and its official mock model (`ai/test`):
 * generate, stream, a tool loop with a real tool, and a failing call; each entry checked field by
 * field, and the prompt redacted before it reached the trail. A call whose provider never answers
 * is made over real HTTP to a loopback server that holds the connection.
 */
import {
  embed,
  embedMany,
  generateText,
  stepCountIs,
  streamText,
  tool,
  wrapEmbeddingModel,
  wrapLanguageModel,
} from 'ai';
import { convertArrayToReadableStream, MockEmbeddingModelV3, MockLanguageModelV3 } from 'ai/test';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Audit } from '../../config/index.js';
import { type AuditEntry, decodeLine } from '../../read/index.js';
import { ATTRIBUTED, attribution, CONTEXT } from '../../test-support/request-context.js';
import { type SilentServer, startSilentServer } from '../../test-support/silent-server.js';
import { runWithRequestContext } from '../context/index.js';
import { sealtrailEmbeddingMiddleware, sealtrailMiddleware, sealtrailTelemetry } from './index.js';

const usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: output, text: output, reasoning: 0 },
});
const stop = { unified: 'stop' as const, raw: 'stop' };

let a: Audit;
beforeEach(async () => {
  a = new Audit();
  await a.enable({ env: { NODE_ENV: 'test', SEALTRAIL_QUIET: '1' } });
});
afterEach(() => a.disable());

async function recorded(): Promise<AuditEntry[]> {
  await a.flush();
  return a.memoryStores[0]!.log.lines.map(decodeLine);
}

/** The entry without what varies per run; `latencyMs` checked to be a measured duration. */
function strip(e: AuditEntry, timed = true): Record<string, unknown> {
  const { id: _i, ts: _t, seq: _s, category: _c, severity: _v, latencyMs, ...rest } = e;
  if (timed) expect(typeof latencyMs === 'number' && latencyMs >= 0, 'latencyMs is a duration').toBe(true);
  else expect(latencyMs).toBeUndefined();
  return rest;
}

describe('sealtrailMiddleware', () => {
  it('records a generated call, redacting the prompt before it reaches the trail', async () => {
    const model = new MockLanguageModelV3({
      provider: 'mock-provider',
      modelId: 'mock-model',
      doGenerate: {
        content: [{ type: 'text', text: 'Your order ships Monday.' }],
        finishReason: stop,
        usage: usage(12, 5),
        warnings: [],
        response: { id: 'resp-1', modelId: 'mock-model-2026', timestamp: new Date(0) },
      },
    });
    const result = await generateText({
      model: wrapLanguageModel({ model, middleware: sealtrailMiddleware({ audit: a }) }),
      prompt: 'When does my order ship? Reach me at jane.doe@example.com',
    });
    expect(result.text).toBe('Your order ships Monday.');
    const [request, e, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(a.memoryStores[0]!.log.lines.join('\n')).not.toContain('jane.doe@example.com');
    const prompt = [
      { role: 'user', content: [{ type: 'text', text: 'When does my order ship? Reach me at [EMAIL]' }] },
    ];
    const redactions = [{ path: 'content.prompt[0].content[0].text', kind: 'email', count: 1 }];
    expect(strip(request!, false)).toEqual({
      type: 'model.request',
      model: { provider: 'mock-provider', name: 'mock-model' },
      meta: { operation: 'generate' },
      content: { prompt },
      redactions,
    });
    expect(strip(e!)).toEqual({
      type: 'model.completion',
      model: { provider: 'mock-provider', name: 'mock-model' },
      usage: { inputTokens: 12, outputTokens: 5, totalTokens: 17 },
      outcome: 'success',
      meta: {
        operation: 'generate',
        requestEntry: request!.id,
        finishReason: 'stop',
        responseId: 'resp-1',
        responseModel: 'mock-model-2026',
      },
      content: { prompt, response: 'Your order ships Monday.' },
      redactions,
    });
  });

  it('records a streamed call with the output assembled and usage from the finish part, passing every chunk through', async () => {
    const model = new MockLanguageModelV3({
      provider: 'mock-provider',
      modelId: 'mock-model',
      doStream: {
        stream: convertArrayToReadableStream([
          { type: 'stream-start', warnings: [] },
          { type: 'response-metadata', id: 'resp-2', modelId: 'mock-model', timestamp: new Date(0) },
          { type: 'text-start', id: 't1' },
          { type: 'text-delta', id: 't1', delta: 'Hel' },
          { type: 'text-delta', id: 't1', delta: 'lo, ' },
          { type: 'text-delta', id: 't1', delta: 'world' },
          { type: 'text-end', id: 't1' },
          { type: 'finish', finishReason: { unified: 'length', raw: 'max_tokens' }, usage: usage(4, 3) },
        ]),
      },
    });
    const result = streamText({
      model: wrapLanguageModel({ model, middleware: sealtrailMiddleware({ audit: a }) }),
      system: 'be brief',
      prompt: 'say hello',
    });
    const chunks: string[] = [];
    for await (const delta of result.textStream) chunks.push(delta);
    expect(chunks).toEqual(['Hel', 'lo, ', 'world']);
    const [request, e] = await recorded();
    const prompt = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: [{ type: 'text', text: 'say hello' }] },
    ];
    expect(strip(request!, false)).toEqual({
      type: 'model.request',
      model: { provider: 'mock-provider', name: 'mock-model' },
      meta: { operation: 'stream' },
      content: { prompt },
    });
    expect(strip(e!)).toEqual({
      type: 'model.completion',
      model: { provider: 'mock-provider', name: 'mock-model' },
      usage: { inputTokens: 4, outputTokens: 3, totalTokens: 7 },
      outcome: 'success',
      meta: {
        operation: 'stream',
        requestEntry: request!.id,
        finishReason: 'length',
        responseId: 'resp-2',
        responseModel: 'mock-model',
      },
      content: { prompt, response: 'Hello, world' },
    });
  });

  it('records a failed call with its error and rethrows the same error', async () => {
    const boom = Object.assign(new Error('upstream overloaded'), { status: 529 });
    const model = new MockLanguageModelV3({
      provider: 'mock-provider',
      modelId: 'mock-model',
      doGenerate: async () => {
        throw boom;
      },
    });
    await expect(
      generateText({
        model: wrapLanguageModel({ model, middleware: sealtrailMiddleware({ audit: a }) }),
        prompt: 'hi',
        maxRetries: 0,
      }),
    ).rejects.toBe(boom);
    const [request, e, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(strip(request!, false)).toEqual({
      type: 'model.request',
      model: { provider: 'mock-provider', name: 'mock-model' },
      meta: { operation: 'generate' },
      content: { prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] },
    });
    expect(strip(e!)).toEqual({
      type: 'model.completion',
      model: { provider: 'mock-provider', name: 'mock-model' },
      outcome: 'error',
      meta: { operation: 'generate', requestEntry: request!.id },
      content: {
        prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
        error: { name: 'Error', message: 'upstream overloaded', status: 529 },
      },
    });
  });
});

describe('sealtrailMiddleware on streams that do not finish', () => {
  /**
   * A model stream: a response start and one text delta, then, like a provider's fetch body, it
   * fails on `abortSignal`, or with `failure` once those are read.
   */
  const partialModel = (failure?: Error) =>
    new MockLanguageModelV3({
      provider: 'mock-provider',
      modelId: 'mock-model',
      doStream: async ({ abortSignal }) => ({
        stream: new ReadableStream({
          start(controller) {
            controller.enqueue({ type: 'stream-start', warnings: [] });
            controller.enqueue({ type: 'text-start', id: 't1' });
            controller.enqueue({ type: 'text-delta', id: 't1', delta: 'Half an ans' });
            abortSignal?.addEventListener('abort', () => controller.error(abortSignal.reason));
          },
          pull(controller) {
            if (failure !== undefined) controller.error(failure); // once the parts above are read
          },
        }),
      }),
    });
  const wrapped = (failure?: Error) =>
    wrapLanguageModel({ model: partialModel(failure), middleware: sealtrailMiddleware({ audit: a }) });

  it('records a stream whose source fails, with the output so far and the error', async () => {
    const reset = Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
    const result = streamText({ model: wrapped(reset), prompt: 'hi', onError: () => {} });
    await expect(
      (async () => {
        for await (const _delta of result.textStream);
      })(),
    ).rejects.toBe(reset);
    const [, e] = await recorded();
    expect(e).toMatchObject({
      outcome: 'error',
      meta: { operation: 'stream', incomplete: true },
      content: { response: 'Half an ans', error: { message: 'connection reset', code: 'ECONNRESET' } },
    });
  });

  it('records a stream the caller aborts, with the output so far', async () => {
    const abort = new AbortController();
    const result = streamText({
      model: wrapped(),
      prompt: 'hi',
      abortSignal: abort.signal,
      onError: () => {},
    });
    const seen: string[] = [];
    await (async () => {
      for await (const delta of result.textStream) {
        seen.push(delta);
        abort.abort();
      }
    })().catch(() => {});
    expect(seen).toEqual(['Half an ans']);
    const [, e] = await recorded();
    expect(e).toMatchObject({
      outcome: 'error',
      meta: { operation: 'stream', incomplete: true },
      content: { response: 'Half an ans', error: { name: 'AbortError' } },
    });
  });

  it('records a stream its reader cancels, as cancelled', async () => {
    const { stream } = await wrapped().doStream({
      prompt: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    });
    const reader = stream.getReader();
    while ((await reader.read()).value?.type !== 'text-delta');
    await reader.cancel();
    const [, e] = await recorded();
    expect(e).toMatchObject({
      outcome: 'success',
      meta: { operation: 'stream', incomplete: true, cancelled: true },
      content: { response: 'Half an ans' },
    });
  });
});

describe('sealtrailMiddleware when the provider never answers', () => {
  let provider: SilentServer;
  beforeAll(async () => {
    provider = await startSilentServer();
  });
  afterAll(() => provider.close());

  /** Posts the prompt to the silent provider over real HTTP and waits for an answer that never comes. */
  const ask = async (prompt: unknown, abortSignal: AbortSignal | undefined): Promise<never> => {
    await fetch(`${provider.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt }),
      ...(abortSignal === undefined ? {} : { signal: abortSignal }),
    });
    throw new Error('the silent provider answered');
  };
  const silentModel = () =>
    wrapLanguageModel({
      model: new MockLanguageModelV3({
        provider: 'mock-provider',
        modelId: 'mock-model',
        doGenerate: ({ prompt, abortSignal }) => ask(prompt, abortSignal),
        doStream: ({ prompt, abortSignal }) => ask(prompt, abortSignal),
      }),
      middleware: sealtrailMiddleware({ audit: a }),
    });
  const prompt = 'Cancel order 7 for jane.doe@example.com';

  it.each(['generate', 'stream'] as const)(
    'has the request of a %s call on record while it hangs, and links the completion once it is aborted',
    async (operation) => {
      const abort = new AbortController();
      const options = { model: silentModel(), prompt, abortSignal: abort.signal, maxRetries: 0 };
      const call =
        operation === 'generate'
          ? generateText(options)
          : (async () => {
              for await (const _delta of streamText({ ...options, onError: () => {} }).textStream);
            })();
      call.catch(() => {}); // settled below, once aborted
      const sent = [{ role: 'user', content: [{ type: 'text', text: prompt }] }];
      // the provider holds the request: the call is under way, and no answer has come
      expect(await provider.nextRequest()).toEqual({ prompt: sent });
      const [request, ...rest] = await recorded();
      expect(rest).toEqual([]);
      expect(strip(request!, false)).toEqual({
        type: 'model.request',
        model: { provider: 'mock-provider', name: 'mock-model' },
        meta: { operation },
        content: {
          prompt: [{ role: 'user', content: [{ type: 'text', text: 'Cancel order 7 for [EMAIL]' }] }],
        },
        redactions: [{ path: 'content.prompt[0].content[0].text', kind: 'email', count: 1 }],
      });
      abort.abort();
      if (operation === 'generate') await expect(call).rejects.toThrow();
      else await call.catch(() => {});
      const [, completion, ...after] = await recorded();
      expect(after).toEqual([]);
      expect(completion).toMatchObject({
        type: 'model.completion',
        outcome: 'error',
        meta: { operation, requestEntry: request!.id },
        content: { error: { name: 'AbortError' } },
      });
    },
  );
});

describe('sealtrailMiddleware in a request context', () => {
  it('gives the request the attribution of its completion', async () => {
    const model = new MockLanguageModelV3({
      doGenerate: {
        content: [{ type: 'text', text: 'x' }],
        finishReason: stop,
        usage: usage(1, 1),
        warnings: [],
      },
    });
    await runWithRequestContext(CONTEXT, () =>
      generateText({
        model: wrapLanguageModel({ model, middleware: sealtrailMiddleware({ audit: a }) }),
        prompt: 'hi',
      }),
    );
    const [request, completion] = await recorded();
    expect(request!.type).toBe('model.request');
    expect(attribution(request)).toEqual(ATTRIBUTED);
    expect(attribution(completion)).toEqual(ATTRIBUTED);
  });

  it('gives a stream read outside the request the attribution of the request that asked for it', async () => {
    const model = new MockLanguageModelV3({
      doStream: {
        stream: convertArrayToReadableStream([
          { type: 'stream-start', warnings: [] },
          { type: 'text-start', id: 't1' },
          { type: 'text-delta', id: 't1', delta: 'hi' },
          { type: 'text-end', id: 't1' },
          { type: 'finish', finishReason: stop, usage: usage(1, 1) },
        ]),
      },
    });
    const result = runWithRequestContext(CONTEXT, () =>
      streamText({
        model: wrapLanguageModel({ model, middleware: sealtrailMiddleware({ audit: a }) }),
        prompt: 'hi',
      }),
    );
    await new Promise((r) => setTimeout(r, 10)); // read later, in another turn of the event loop
    for await (const _ of result.textStream);
    const [request, completion] = await recorded();
    expect(attribution(request)).toEqual(ATTRIBUTED);
    expect(completion!.type).toBe('model.completion');
    expect(attribution(completion)).toEqual(ATTRIBUTED);
  });
});

describe('sealtrailMiddleware with recordRequests false', () => {
  it('records the completion alone, unlinked', async () => {
    const model = new MockLanguageModelV3({
      doGenerate: {
        content: [{ type: 'text', text: 'x' }],
        finishReason: stop,
        usage: usage(1, 1),
        warnings: [],
      },
    });
    await generateText({
      model: wrapLanguageModel({
        model,
        middleware: sealtrailMiddleware({ audit: a, recordRequests: false }),
      }),
      prompt: 'hi',
    });
    const [e, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(e).toMatchObject({
      type: 'model.completion',
      content: { prompt: expect.any(Array), response: 'x' },
    });
    expect(e!.meta).not.toHaveProperty('requestEntry');
  });
});

describe('sealtrailMiddleware with sealtrailTelemetry in a tool loop', () => {
  it('records the model calls, the tool call asked for, the tool run with its result, and each step', async () => {
    const model = new MockLanguageModelV3({
      provider: 'mock-provider',
      modelId: 'mock-model',
      doGenerate: [
        {
          content: [
            { type: 'tool-call', toolCallId: 'call-1', toolName: 'weather', input: '{"city":"Oslo"}' },
          ],
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage: usage(20, 8),
          warnings: [],
        },
        {
          content: [{ type: 'text', text: 'It is 3 °C in Oslo.' }],
          finishReason: stop,
          usage: usage(30, 9),
          warnings: [],
        },
      ],
    });
    const weather = tool({
      description: 'current temperature',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => ({ city, celsius: 3 }),
    });
    const result = await generateText({
      model: wrapLanguageModel({ model, middleware: sealtrailMiddleware({ audit: a }) }),
      prompt: 'Weather in Oslo?',
      tools: { weather },
      stopWhen: stepCountIs(3),
      experimental_telemetry: { isEnabled: true, integrations: sealtrailTelemetry({ audit: a }) },
    });
    expect(result.text).toBe('It is 3 °C in Oslo.');
    const events = await recorded();
    expect(events.map((e) => e.type)).toEqual([
      'model.request',
      'model.completion',
      'tool.call',
      'tool.result',
      'agent.step',
      'model.request',
      'model.completion',
      'agent.step',
    ]);
    const [firstRequest, first, asked, ran, step1, secondRequest, second, step2] = events;
    expect(first!.meta).toMatchObject({ requestEntry: firstRequest!.id });
    expect(second!.meta).toMatchObject({ requestEntry: secondRequest!.id });
    // Each request carries the prompt its call sent: the second one the tool result too.
    expect(secondRequest!.content?.prompt).toEqual(second!.content?.prompt);
    expect(first).toMatchObject({
      usage: { inputTokens: 20, outputTokens: 8, totalTokens: 28 },
      meta: { operation: 'generate', finishReason: 'tool-calls', toolCalls: 1 },
      content: { response: '', toolCalls: [{ id: 'call-1', name: 'weather', args: { city: 'Oslo' } }] },
    });
    expect(strip(asked!, false)).toEqual({
      type: 'tool.call',
      model: { provider: 'mock-provider', name: 'mock-model' },
      resource: { type: 'tool', id: 'weather' },
      action: 'request',
      meta: { toolCallId: 'call-1', completionEntry: first!.id },
      content: { toolArgs: { city: 'Oslo' } },
    });
    expect(strip(ran!)).toEqual({
      type: 'tool.result',
      model: { provider: 'mock-provider', name: 'mock-model' },
      resource: { type: 'tool', id: 'weather' },
      action: 'execute',
      outcome: 'success',
      meta: { toolCallId: 'call-1', step: 0 },
      content: { toolArgs: { city: 'Oslo' }, toolResult: { city: 'Oslo', celsius: 3 } },
    });
    expect(step1).toMatchObject({
      type: 'agent.step',
      model: { provider: 'mock-provider', name: 'mock-model' },
      usage: { inputTokens: 20, outputTokens: 8, totalTokens: 28 },
      outcome: 'success',
      meta: { finishReason: 'tool-calls', toolCalls: 1 },
      content: { toolCalls: [{ id: 'call-1', name: 'weather', args: { city: 'Oslo' } }] },
    });
    expect(second).toMatchObject({
      usage: { inputTokens: 30, outputTokens: 9, totalTokens: 39 },
      content: { response: 'It is 3 °C in Oslo.' },
    });
    // The second call's prompt carries the tool result back to the model.
    expect(JSON.stringify(second!.content?.prompt)).toContain('"celsius":3');
    expect(step2).toMatchObject({
      meta: { finishReason: 'stop', toolCalls: 0 },
      content: { response: 'It is 3 °C in Oslo.' },
    });
  });

  it('records a failing tool run as tool.result with outcome error', async () => {
    const model = new MockLanguageModelV3({
      doGenerate: [
        {
          content: [{ type: 'tool-call', toolCallId: 'c9', toolName: 'fail', input: '{}' }],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage: usage(1, 1),
          warnings: [],
        },
        { content: [{ type: 'text', text: 'sorry' }], finishReason: stop, usage: usage(1, 1), warnings: [] },
      ],
    });
    await generateText({
      model,
      prompt: 'go',
      tools: {
        fail: tool({
          inputSchema: z.object({ city: z.string().optional() }),
          execute: async (): Promise<string> => {
            throw new RangeError('no such city');
          },
        }),
      },
      stopWhen: stepCountIs(2),
      experimental_telemetry: { isEnabled: true, integrations: sealtrailTelemetry({ audit: a }) },
    });
    const ran = (await recorded()).find((e) => e.type === 'tool.result');
    expect(ran).toMatchObject({
      outcome: 'error',
      resource: { type: 'tool', id: 'fail' },
      content: { toolArgs: {}, error: { name: 'RangeError', message: 'no such city' } },
    });
  });

  it('keeps only metadata with recordContent false', async () => {
    const model = new MockLanguageModelV3({
      doGenerate: {
        content: [{ type: 'text', text: 'x' }],
        finishReason: stop,
        usage: usage(1, 1),
        warnings: [],
      },
    });
    await generateText({
      model: wrapLanguageModel({
        model,
        middleware: sealtrailMiddleware({ audit: a, recordContent: false }),
      }),
      prompt: 'private',
    });
    const [request, e] = await recorded();
    expect(request).toMatchObject({ type: 'model.request', meta: { operation: 'generate' } });
    expect(request!.content).toBeUndefined();
    expect(e!.content).toBeUndefined();
    expect(e!.usage).toEqual({ inputTokens: 1, outputTokens: 1, totalTokens: 2 });
  });
});

describe('sealtrailEmbeddingMiddleware', () => {
  it('records each embedding call with the texts embedded, the vectors counted, and a failed one', async () => {
    const model = new MockEmbeddingModelV3({
      provider: 'mock-provider',
      modelId: 'mock-embedder',
      maxEmbeddingsPerCall: 2,
      doEmbed: async ({ values }) => {
        if (values[0] === 'c') throw new Error('quota exceeded');
        return values.length === 1
          ? { embeddings: [[0.1, 0.2, 0.3]], usage: { tokens: 7 }, warnings: [] }
          : {
              embeddings: [
                [1, 0, 0],
                [0, 1, 0],
              ],
              warnings: [],
            };
      },
    });
    const embedder = wrapEmbeddingModel({ model, middleware: sealtrailEmbeddingMiddleware({ audit: a }) });
    const { embedding } = await embed({ model: embedder, value: 'refund for jane.doe@example.com' });
    expect(embedding).toEqual([0.1, 0.2, 0.3]);
    await embedMany({ model: embedder, values: ['a', 'b'] });
    await expect(embed({ model: embedder, value: 'c', maxRetries: 0 })).rejects.toThrow('quota exceeded');
    const [one, many, failed, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(strip(one!)).toEqual({
      type: 'model.embedding',
      model: { provider: 'mock-provider', name: 'mock-embedder' },
      usage: { inputTokens: 7, totalTokens: 7 },
      outcome: 'success',
      meta: { values: 1, dimensions: 3 },
      content: { values: ['refund for [EMAIL]'] },
      redactions: [{ path: 'content.values[0]', kind: 'email', count: 1 }],
    });
    expect(many).toMatchObject({ meta: { values: 2, dimensions: 3 }, content: { values: ['a', 'b'] } });
    expect(many!.usage).toBeUndefined();
    expect(failed).toMatchObject({
      type: 'model.embedding',
      outcome: 'error',
      meta: { values: 1 },
      content: { values: ['c'], error: { message: 'quota exceeded' } },
    });
  });
});
