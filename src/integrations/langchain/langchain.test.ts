/**
 * The LangChain.js handler with the real `@langchain/core`: its fake chat model and LLM, a real
 * retriever (a BaseRetriever over documents in memory) and a real tool. Entries are checked field
 * by field, run ids are checked to form one tree, and the prompt is redacted before the trail. A
 * model whose provider never answers calls a loopback server that holds the connection.
 */

import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { awaitAllCallbacks } from '@langchain/core/callbacks/promises';
import { Document } from '@langchain/core/documents';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { StringOutputParser } from '@langchain/core/output_parsers';
import type { ChatResult } from '@langchain/core/outputs';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { BaseRetriever } from '@langchain/core/retrievers';
import { RunnableLambda, RunnableSequence } from '@langchain/core/runnables';
import { tool } from '@langchain/core/tools';
import { FakeListChatModel, FakeLLM, FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Audit } from '../../config/index.js';
import { type AuditEntry, decodeLine } from '../../read/index.js';
import { ATTRIBUTED, attribution, CONTEXT } from '../../test-support/request-context.js';
import { type SilentServer, startSilentServer } from '../../test-support/silent-server.js';
import { runWithRequestContext } from '../context/index.js';
import { SealtrailCallbackHandler } from './index.js';

/**
 * A chat model that answers as @langchain/openai's ChatOpenAI reports a completion cut at its
 * token limit: the finish reason in `generationInfo` and `response_metadata`, the dated model name.
 */
class TruncatingChatModel extends BaseChatModel {
  override _llmType(): string {
    return 'truncating';
  }
  override async _generate(): Promise<ChatResult> {
    const message = new AIMessage({
      content: 'The refund policy is',
      response_metadata: { finish_reason: 'length', model_name: 'gpt-4o-2024-08-06' },
    });
    return {
      generations: [{ text: 'The refund policy is', message, generationInfo: { finish_reason: 'length' } }],
    };
  }
}

/** A chat model that posts the messages to its provider over real HTTP and answers with the reply. */
class HttpChatModel extends BaseChatModel {
  readonly url: string;
  constructor(url: string) {
    super({});
    this.url = url;
  }
  override _llmType(): string {
    return 'http';
  }
  override async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: messages.map((m) => ({ role: m.type, content: m.content })) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const text = await res.text();
    return { generations: [{ text, message: new AIMessage(text) }] };
  }
}

/** A real retriever: keyword match over documents held in memory. */
class PolicyRetriever extends BaseRetriever {
  override lc_namespace = ['sealtrail', 'test'];
  readonly docs = [
    new Document({
      pageContent: 'Refunds are accepted within 30 days.',
      metadata: { source: 'refunds.md' },
      id: 'd1',
    }),
    new Document({
      pageContent: 'Shipping takes 3 to 5 days.',
      metadata: { source: 'shipping.md' },
      id: 'd2',
    }),
  ];
  override async _getRelevantDocuments(query: string): Promise<Document[]> {
    return this.docs.filter((d) => query.toLowerCase().includes(d.pageContent.split(' ')[0]!.toLowerCase()));
  }
}

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

const meta = (e: AuditEntry) => e.meta as Record<string, string | number>;

describe('SealtrailCallbackHandler', () => {
  it('records a RAG chain: retrieval, chat model and chains, linked by run ids', async () => {
    const retriever = new PolicyRetriever();
    const prompt = ChatPromptTemplate.fromMessages([
      ['system', 'Answer from this context: {context}'],
      ['human', '{question}'],
    ]);
    const model = new FakeListChatModel({ responses: ['Within 30 days.'] });
    const chain = RunnableSequence.from([
      {
        context: RunnableLambda.from(async (input: { question: string }, config) => {
          const docs = await retriever.invoke(input.question, config);
          return docs.map((d) => d.pageContent).join('\n');
        }),
        question: (input: { question: string }) => input.question,
      },
      prompt,
      model,
      new StringOutputParser(),
    ]);
    const handler = new SealtrailCallbackHandler({ audit: a });
    const answer = await chain.invoke(
      { question: 'Refunds? I am jane.doe@example.com' },
      { callbacks: [handler], runName: 'support-answer' },
    );
    expect(answer).toBe('Within 30 days.');
    const events = await recorded();
    expect(a.memoryStores[0]!.log.lines.join('\n')).not.toContain('jane.doe@example.com');

    const rag = events.filter((e) => e.type === 'rag.query');
    expect(rag).toHaveLength(1);
    const { id: _i, ts: _t, seq: _s, latencyMs: ragLatency, meta: ragMeta, ...ragRest } = rag[0]!;
    expect(ragLatency).toBeGreaterThanOrEqual(0);
    expect(ragRest).toEqual({
      type: 'rag.query',
      category: 'ai',
      severity: 'info',
      resource: { type: 'retriever', id: 'PolicyRetriever' },
      outcome: 'success',
      content: {
        query: 'Refunds? I am [EMAIL]',
        documents: [
          {
            pageContent: 'Refunds are accepted within 30 days.',
            metadata: { source: 'refunds.md' },
            id: 'd1',
          },
        ],
      },
      redactions: [{ path: 'content.query', kind: 'email', count: 1 }],
    });
    expect(ragMeta).toMatchObject({ framework: 'langchain', documents: 1, run: 'PolicyRetriever' });

    // The model's request is on record before its completion, with the same prompt and run id.
    const [request] = events.filter((e) => e.type === 'model.request');
    const [completion] = events.filter((e) => e.type === 'model.completion');
    expect(events.indexOf(request!)).toBeLessThan(events.indexOf(completion!));
    const { id: _ri, ts: _rt, seq: _rs, ...requestRest } = request!;
    expect(requestRest).toEqual({
      type: 'model.request',
      category: 'ai',
      severity: 'info',
      model: { provider: 'FakeListChatModel', name: 'FakeListChatModel' },
      meta: {
        framework: 'langchain',
        run: 'FakeListChatModel',
        runId: meta(completion!).runId,
        parentRunId: meta(completion!).parentRunId,
      },
      content: { prompt: completion!.content?.prompt },
      redactions: [{ path: 'content.prompt[1].content', kind: 'email', count: 1 }],
    });
    expect(completion!.meta).toMatchObject({ requestEntry: request!.id });
    expect(completion).toMatchObject({
      // The fake model names no model: the provider (ls_provider) and the run name stand in.
      model: { provider: 'FakeListChatModel', name: 'FakeListChatModel' },
      outcome: 'success',
      content: {
        prompt: [
          { role: 'system', content: 'Answer from this context: Refunds are accepted within 30 days.' },
          { role: 'human', content: 'Refunds? I am [EMAIL]' },
        ],
        response: 'Within 30 days.',
      },
      meta: { framework: 'langchain', run: 'FakeListChatModel' },
    });

    // Every parent run id names a recorded run, and all runs hang from one root: the sequence.
    const ends = events.filter((e) => e.type !== 'model.request');
    const byRun = new Map(ends.map((e) => [meta(e).runId as string, e]));
    expect(byRun.size).toBe(ends.length);
    const roots = events.filter((e) => meta(e).parentRunId === undefined);
    expect(roots).toHaveLength(1);
    expect(roots[0]).toMatchObject({
      type: 'agent.step',
      action: 'chain',
      resource: { type: 'chain', id: 'support-answer' },
      content: { inputs: { question: 'Refunds? I am [EMAIL]' }, outputs: { output: 'Within 30 days.' } },
    });
    for (const e of events) {
      let cursor: AuditEntry | undefined = e;
      for (let hops = 0; meta(cursor!).parentRunId !== undefined; hops++) {
        cursor = byRun.get(meta(cursor!).parentRunId as string);
        expect(cursor, `parent of ${meta(e).run} was recorded`).toBeDefined();
        expect(hops).toBeLessThan(10);
      }
      expect(cursor).toBe(roots[0]);
    }
    // Children are recorded before their parents finish.
    expect(events.at(-1)).toBe(roots[0]);
  });

  it('records a real tool run with its arguments, result and tool call id, and a failing one', async () => {
    const add = tool(async ({ a: x, b: y }) => x + y, {
      name: 'add',
      description: 'adds two numbers',
      schema: z.object({ a: z.number(), b: z.number() }),
    });
    const fail = tool(
      async (): Promise<string> => {
        throw new Error('service down');
      },
      { name: 'lookup', description: 'always fails', schema: z.object({ q: z.string() }) },
    );
    const handler = new SealtrailCallbackHandler({ audit: a, chains: false });
    const message = await add.invoke(
      { type: 'tool_call', id: 'call_7', name: 'add', args: { a: 2, b: 3 } },
      { callbacks: [handler] },
    );
    expect(message.content).toBe('5');
    await expect(fail.invoke({ q: 'x' }, { callbacks: [handler] })).rejects.toThrow('service down');
    const [ok, failed] = await recorded();
    const { id: _i, ts: _t, seq: _s, latencyMs, meta: m, ...rest } = ok!;
    expect(latencyMs).toBeGreaterThanOrEqual(0);
    expect(rest).toEqual({
      type: 'tool.result',
      category: 'ai',
      severity: 'info',
      resource: { type: 'tool', id: 'add' },
      action: 'execute',
      outcome: 'success',
      content: { toolArgs: { a: 2, b: 3 }, toolResult: '5' },
    });
    expect(m).toMatchObject({
      framework: 'langchain',
      run: 'add',
      toolCallId: 'call_7',
      runId: expect.any(String),
    });
    expect(failed).toMatchObject({
      type: 'tool.result',
      outcome: 'error',
      resource: { id: 'lookup' },
      content: { toolArgs: { q: 'x' }, error: { name: 'Error', message: 'service down' } },
    });
  });

  it('records an LLM call and a chat model error', async () => {
    const handler = new SealtrailCallbackHandler({ audit: a });
    await new FakeLLM({ response: 'four' }).invoke('two plus two', { callbacks: [handler] });
    const broken = new FakeStreamingChatModel({ thrownErrorString: 'quota exceeded' });
    await expect(broken.invoke('hello', { callbacks: [handler] })).rejects.toThrow('quota exceeded');
    const [llmRequest, llm, errRequest, err, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(llmRequest).toMatchObject({ type: 'model.request', content: { prompt: 'two plus two' } });
    expect(llm!.meta).toMatchObject({ requestEntry: llmRequest!.id });
    // the failed call's request is on record, with the prompt it sent
    expect(errRequest).toMatchObject({
      type: 'model.request',
      content: { prompt: [{ role: 'human', content: 'hello' }] },
    });
    expect(err!.meta).toMatchObject({ requestEntry: errRequest!.id });
    expect(llm).toMatchObject({
      type: 'model.completion',
      outcome: 'success',
      content: { prompt: 'two plus two', response: 'four' },
    });
    expect(err).toMatchObject({
      type: 'model.completion',
      outcome: 'error',
      content: { prompt: [{ role: 'human', content: 'hello' }], error: { message: 'quota exceeded' } },
    });
  });

  it('records why the model stopped and the model that answered', async () => {
    await new TruncatingChatModel({}).invoke('refund policy?', {
      callbacks: [new SealtrailCallbackHandler({ audit: a })],
    });
    const [, e] = await recorded();
    expect(e).toMatchObject({
      type: 'model.completion',
      meta: { finishReason: 'length', responseModel: 'gpt-4o-2024-08-06' },
      content: { response: 'The refund policy is' },
    });
  });

  it('records the tool calls a chat model asks for', async () => {
    const handler = new SealtrailCallbackHandler({ audit: a });
    const model = new FakeStreamingChatModel({
      chunks: [
        new AIMessageChunk({ content: '', tool_calls: [{ id: 'tc1', name: 'add', args: { a: 1, b: 1 } }] }),
      ],
    });
    await model.invoke('add one and one', { callbacks: [handler] });
    const [, e] = await recorded();
    expect(e).toMatchObject({
      type: 'model.completion',
      meta: { toolCalls: 1 },
      // This fake model echoes the prompt as its text.
      content: { response: 'add one and one', toolCalls: [{ id: 'tc1', name: 'add', args: { a: 1, b: 1 } }] },
    });
  });

  it('records a stream its consumer stops reading as incomplete, once too many runs are open', async () => {
    const handler = new SealtrailCallbackHandler({ audit: a, maxOpenRuns: 1 });
    const model = new FakeListChatModel({ responses: ['abcdef'] });
    // LangChain reports a token after its consumer took it: two chunks read, one reported.
    let read = 0;
    for await (const _chunk of await model.stream('spell it', { callbacks: [handler] }))
      if (++read === 2) break;
    // only the request: the run has not ended
    expect((await recorded()).map((e) => e.type)).toEqual(['model.request']);
    await new FakeLLM({ response: 'four' }).invoke('two plus two', { callbacks: [handler] });
    const [request, abandoned, , next] = await recorded();
    expect(abandoned).toMatchObject({
      type: 'model.completion',
      meta: { incomplete: true, requestEntry: request!.id },
      content: { prompt: [{ role: 'human', content: 'spell it' }], response: 'a' },
    });
    expect(abandoned!.outcome).toBeUndefined();
    expect(next).toMatchObject({
      type: 'model.completion',
      outcome: 'success',
      content: { response: 'four' },
    });
  });

  it('records a run still open after maxRunMs as incomplete when the next run starts', async () => {
    const handler = new SealtrailCallbackHandler({ audit: a, maxRunMs: 5 });
    const slow = tool(async () => 'late', { name: 'slow', schema: z.object({}) });
    const iterator = (
      await new FakeListChatModel({ responses: ['xyz'] }).stream('q', { callbacks: [handler] })
    )[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.return?.();
    await new Promise((r) => setTimeout(r, 20));
    await slow.invoke({}, { callbacks: [handler] });
    const [, abandoned, ran] = await recorded();
    expect(abandoned).toMatchObject({ type: 'model.completion', meta: { incomplete: true } });
    expect(ran).toMatchObject({ type: 'tool.result', outcome: 'success', content: { toolResult: 'late' } });
  });

  it('records the late end of a run recorded as incomplete as the end of that run, not of an unknown one', async () => {
    const handler = new SealtrailCallbackHandler({ audit: a, maxRunMs: 5 });
    let finish!: (v: string) => void;
    const slow = tool(() => new Promise<string>((resolve) => (finish = resolve)), {
      name: 'slow',
      schema: z.object({ q: z.string() }),
    });
    const quick = tool(async () => 'done', { name: 'quick', schema: z.object({}) });
    const running = slow.invoke({ q: 'wait' }, { callbacks: [handler] });
    await new Promise((r) => setTimeout(r, 20));
    await quick.invoke({}, { callbacks: [handler] });
    finish('late');
    await running;
    const [abandoned, ran, late] = await recorded();
    expect(abandoned).toMatchObject({ type: 'tool.result', meta: { run: 'slow', incomplete: true } });
    expect(ran).toMatchObject({ meta: { run: 'quick' } });
    expect(late).toMatchObject({
      type: 'tool.result',
      outcome: 'success',
      resource: { type: 'tool', id: 'slow' },
      meta: { run: 'slow', runId: (abandoned!.meta as { runId: string }).runId, afterIncomplete: true },
      content: { toolResult: 'late' },
    });
    expect(late!.latencyMs).toBeGreaterThanOrEqual(abandoned!.latencyMs as number);
  });
});

describe('SealtrailCallbackHandler options', () => {
  it.each([
    [{ maxOpenRuns: 0 }, 'maxOpenRuns'],
    [{ maxOpenRuns: Number.NaN }, 'maxOpenRuns'],
    [{ maxOpenRuns: 1.5 }, 'maxOpenRuns'],
    [{ maxRunMs: Number.NaN }, 'maxRunMs'],
    [{ maxRunMs: -1 }, 'maxRunMs'],
  ])('refuses %j, which would record every open run as incomplete, naming %s', (options, field) => {
    expect(() => new SealtrailCallbackHandler({ audit: a, ...options })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(new RegExp(`^${field}:`)),
      }),
    );
  });
});

describe('SealtrailCallbackHandler when the provider never answers', () => {
  let provider: SilentServer;
  beforeAll(async () => {
    provider = await startSilentServer();
  });
  afterAll(() => provider.close());

  it('has the request on record while the call hangs, and links the completion once it is aborted', async () => {
    const abort = new AbortController();
    const call = new HttpChatModel(`${provider.url}/v1/chat`).invoke(
      'Close the account of jane.doe@example.com',
      {
        callbacks: [new SealtrailCallbackHandler({ audit: a })],
        signal: abort.signal,
      },
    );
    call.catch(() => {}); // settled below, once aborted
    // the provider holds the request: the call is under way, and no answer has come
    expect(await provider.nextRequest()).toEqual({
      messages: [{ role: 'human', content: 'Close the account of jane.doe@example.com' }],
    });
    const [request, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(request).toMatchObject({
      type: 'model.request',
      model: { name: 'HttpChatModel' },
      meta: { framework: 'langchain', run: 'HttpChatModel', runId: expect.any(String) },
      content: { prompt: [{ role: 'human', content: 'Close the account of [EMAIL]' }] },
      redactions: [{ path: 'content.prompt[0].content', kind: 'email', count: 1 }],
    });
    abort.abort();
    await expect(call).rejects.toThrow();
    const [, completion, ...after] = await recorded();
    expect(after).toEqual([]);
    expect(completion).toMatchObject({
      type: 'model.completion',
      outcome: 'error',
      meta: { runId: meta(request!).runId, requestEntry: request!.id },
      content: { error: { name: 'AbortError' } },
    });
  });
});

describe('SealtrailCallbackHandler in a request context', () => {
  it('gives the request the attribution of its completion', async () => {
    await runWithRequestContext(CONTEXT, () =>
      new FakeLLM({ response: 'four' }).invoke('two plus two', {
        callbacks: [new SealtrailCallbackHandler({ audit: a })],
      }),
    );
    const [request, completion] = await recorded();
    expect(request!.type).toBe('model.request');
    expect(attribution(request)).toEqual(ATTRIBUTED);
    expect(attribution(completion)).toEqual(ATTRIBUTED);
  });
});

describe('SealtrailCallbackHandler among handlers run in the background', () => {
  it('refuses awaitHandlers false, which would run it in another request context', () => {
    const handler = new SealtrailCallbackHandler({ audit: a });
    expect(() => {
      handler.awaitHandlers = false;
    }).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/^awaitHandlers/) }));
    expect(handler.awaitHandlers).toBe(true);
  });

  it('attributes concurrent runs each to its own request while a slow handler fills the background queue', async () => {
    const handler = new SealtrailCallbackHandler({ audit: a });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const slow = BaseCallbackHandler.fromMethods({
      handleLLMStart: () => sleep(5),
      handleLLMEnd: () => sleep(5),
    });
    slow.awaitHandlers = false;
    const users = ['u-0', 'u-1', 'u-2', 'u-3'];
    await Promise.all(
      users.map((userId, i) =>
        runWithRequestContext({ userId, requestId: `r-${userId}` }, async () => {
          await sleep(i % 2);
          return new FakeListChatModel({ responses: [`to ${userId}`], sleep: 3 }).invoke(`from ${userId}`, {
            callbacks: [slow, handler],
          });
        }),
      ),
    );
    await awaitAllCallbacks();
    const entries = await recorded();
    expect(entries).toHaveLength(users.length * 2);
    for (const e of entries) {
      const userId = (e.actor as { id?: string } | undefined)?.id;
      expect(JSON.stringify(e.content?.prompt)).toContain(`from ${userId}`);
      expect(e.requestId).toBe(`r-${userId}`);
    }
  });
});

describe('SealtrailCallbackHandler with recordRequests false', () => {
  it('records the completion alone, unlinked', async () => {
    await new FakeLLM({ response: 'four' }).invoke('two plus two', {
      callbacks: [new SealtrailCallbackHandler({ audit: a, recordRequests: false })],
    });
    const [e, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(e).toMatchObject({
      type: 'model.completion',
      content: { prompt: 'two plus two', response: 'four' },
    });
    expect(e!.meta).not.toHaveProperty('requestEntry');
  });
});
