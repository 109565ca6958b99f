/**
 * `sealtrail/openai`: the OpenAI SDK (`openai` 6) recorded in the audit trail.
 *
 * `auditOpenAI(client)` returns a view of the same client in which `chat.completions.create` and
 * `responses.create` are observed: each call, streamed or not, becomes a `model.completion` entry
 * (prompt, output, tool calls asked for, usage — from the final usage chunk of a chat stream or
 * from `response.completed` —, finish reason, latency, errors), plus one `tool.call` entry per
 * tool call. The caller gets the very `APIPromise` and stream objects the SDK returns; the client
 * passed in is not modified.
 *
 * ```ts
 * const openai = auditOpenAI(new OpenAI());
 * ```
 */
import type OpenAI from 'openai';
import { describeError } from '../../config/index.js';
import type { AuditEventInput, Content, Usage } from '../../event/index.js';
import { parseArgs, toJsonSafe } from '../json-safe.js';
import { emitTo, type IntegrationOptions } from '../sink.js';

/** Options of {@link auditOpenAI}. */
export interface OpenAIAuditOptions extends IntegrationOptions {
  /** Recorded as `model.provider` (default `openai`; say `azure.openai` or your gateway's name). */
  provider?: string;
}

type Api = 'chat.completions' | 'responses';

interface Outcome {
  text: string;
  toolCalls: Array<{ id: string; name: string; args: string }>;
  usage: Usage | undefined;
  finishReason: string | undefined;
  responseId: string | undefined;
  responseModel: string | undefined;
  /** The stream ended before its last chunk (the caller stopped reading). */
  incomplete?: boolean;
}

/**
 * Observes `client`'s Chat Completions and Responses calls. Returns the same type; the original
 * client keeps working unobserved.
 */
export function auditOpenAI<T extends OpenAI>(client: T, options: OpenAIAuditOptions = {}): T {
  const observe = (api: Api, create: (...args: unknown[]) => unknown, self: unknown) =>
    function observed(...args: unknown[]): unknown {
      const params = (args[0] ?? {}) as Record<string, unknown>;
      const start = performance.now();
      const promise = create.apply(self, args) as PromiseLike<unknown>;
      // Our callbacks are attached before the caller's, so a stream is wrapped before it is read.
      promise.then(
        (value) => {
          if (params.stream === true) wrapStream(value, api, params, start, options);
          else record(api, params, start, fromResult(api, value), undefined, options);
        },
        (error) => record(api, params, start, undefined, error, options),
      );
      return promise;
    };
  const resource = <R extends object>(target: R, api: Api): R =>
    new Proxy(target, {
      get(t, key, receiver) {
        const value = Reflect.get(t, key, receiver);
        return key === 'create' && typeof value === 'function'
          ? observe(api, value as (...args: unknown[]) => unknown, receiver)
          : value;
      },
    });
  const chat = new Proxy(client.chat, {
    get(t, key, receiver) {
      const value = Reflect.get(t, key, receiver);
      return key === 'completions' ? resource(value as object, 'chat.completions') : value;
    },
  });
  const responses = resource(client.responses, 'responses');
  return new Proxy(client, {
    get(t, key, receiver) {
      if (key === 'chat') return chat;
      if (key === 'responses') return responses;
      return Reflect.get(t, key, receiver);
    },
  });
}

/** Replaces the stream's iterator with one that watches the chunks and records at the end. */
function wrapStream(
  stream: unknown,
  api: Api,
  params: Record<string, unknown>,
  start: number,
  options: OpenAIAuditOptions,
): void {
  const s = stream as { iterator?: () => AsyncIterator<unknown> };
  const original = s.iterator;
  if (typeof original !== 'function') {
    record(api, params, start, undefined, new Error('unrecognized stream object'), options);
    return;
  }
  const acc = newOutcome();
  const tools = new Map<number, { id: string; name: string; args: string }>();
  let recorded = false;
  const finish = (error: unknown, incomplete: boolean): void => {
    if (recorded) return;
    recorded = true;
    acc.toolCalls.push(...[...tools.entries()].sort((x, y) => x[0] - y[0]).map(([, t]) => t));
    if (incomplete) acc.incomplete = true;
    record(api, params, start, acc, error, options);
  };
  s.iterator = async function* watched() {
    let ended = false;
    try {
      for await (const chunk of { [Symbol.asyncIterator]: () => original.call(stream) }) {
        if (api === 'chat.completions') watchChatChunk(chunk, acc, tools);
        else watchResponseEvent(chunk, acc);
        yield chunk;
      }
      ended = true;
    } catch (error) {
      finish(error, true);
      throw error;
    } finally {
      finish(undefined, !ended);
    }
  };
}

function watchChatChunk(
  chunk: unknown,
  acc: Outcome,
  tools: Map<number, { id: string; name: string; args: string }>,
): void {
  const c = chunk as OpenAI.Chat.Completions.ChatCompletionChunk;
  acc.responseId ??= c.id;
  acc.responseModel ??= c.model;
  if (c.usage) acc.usage = usageOfChat(c.usage);
  for (const choice of c.choices ?? []) {
    if (choice.index !== 0) continue;
    if (typeof choice.delta?.content === 'string') acc.text += choice.delta.content;
    for (const t of choice.delta?.tool_calls ?? []) {
      const known = tools.get(t.index) ?? { id: '', name: '', args: '' };
      if (t.id) known.id = t.id;
      if (t.function?.name) known.name += t.function.name;
      if (t.function?.arguments) known.args += t.function.arguments;
      tools.set(t.index, known);
    }
    if (choice.finish_reason) acc.finishReason = choice.finish_reason;
  }
}

function watchResponseEvent(event: unknown, acc: Outcome): void {
  const e = event as OpenAI.Responses.ResponseStreamEvent;
  if (e.type === 'response.output_text.delta') acc.text += e.delta;
  else if (
    e.type === 'response.completed' ||
    e.type === 'response.incomplete' ||
    e.type === 'response.failed'
  ) {
    const done = fromResult('responses', e.response);
    Object.assign(acc, done, { text: done.text === '' ? acc.text : done.text });
  }
}

function fromResult(api: Api, value: unknown): Outcome {
  const out = newOutcome();
  if (api === 'chat.completions') {
    const r = value as OpenAI.Chat.Completions.ChatCompletion;
    out.responseId = r.id;
    out.responseModel = r.model;
    if (r.usage) out.usage = usageOfChat(r.usage);
    const choice = r.choices?.[0];
    if (choice !== undefined) {
      out.text = choice.message?.content ?? '';
      out.finishReason = choice.finish_reason;
      for (const t of choice.message?.tool_calls ?? [])
        if (t.type === 'function')
          out.toolCalls.push({ id: t.id, name: t.function.name, args: t.function.arguments });
    }
    return out;
  }
  const r = value as OpenAI.Responses.Response;
  out.responseId = r.id;
  out.responseModel = r.model;
  out.finishReason = r.incomplete_details?.reason ?? r.status;
  if (r.usage) {
    out.usage = {
      inputTokens: r.usage.input_tokens,
      outputTokens: r.usage.output_tokens,
      totalTokens: r.usage.total_tokens,
    };
  }
  for (const item of r.output ?? []) {
    if (item.type === 'message') {
      for (const part of item.content) if (part.type === 'output_text') out.text += part.text;
    } else if (item.type === 'function_call') {
      out.toolCalls.push({ id: item.call_id, name: item.name, args: item.arguments });
    }
  }
  return out;
}

function record(
  api: Api,
  params: Record<string, unknown>,
  start: number,
  outcome: Outcome | undefined,
  error: unknown,
  options: OpenAIAuditOptions,
): void {
  const content = options.recordContent !== false;
  const model = { provider: options.provider ?? 'openai', name: String(params.model ?? '') };
  const meta: NonNullable<AuditEventInput['meta']> = { api, stream: params.stream === true };
  const ev: AuditEventInput = {
    type: 'model.completion',
    model,
    latencyMs: Math.round((performance.now() - start) * 1000) / 1000,
    outcome: error === undefined ? 'success' : 'error',
    meta,
  };
  const body: Content = {};
  if (content) {
    if (api === 'chat.completions') body.prompt = toJsonSafe(params.messages);
    else {
      body.prompt = toJsonSafe(params.input);
      if (params.instructions !== undefined) body.instructions = toJsonSafe(params.instructions);
    }
  }
  if (outcome !== undefined) {
    if (outcome.usage !== undefined) ev.usage = outcome.usage;
    if (outcome.finishReason != null) meta.finishReason = outcome.finishReason;
    if (outcome.responseId !== undefined) meta.responseId = outcome.responseId;
    if (outcome.responseModel !== undefined) meta.responseModel = outcome.responseModel;
    if (outcome.toolCalls.length > 0) meta.toolCalls = outcome.toolCalls.length;
    if (outcome.incomplete) meta.incomplete = true;
    if (content) {
      body.response = outcome.text;
      if (outcome.toolCalls.length > 0)
        body.toolCalls = outcome.toolCalls.map((t) => ({ id: t.id, name: t.name, args: parseArgs(t.args) }));
    }
  }
  if (error !== undefined) body.error = describeError(error);
  if (Object.keys(body).length > 0) ev.content = body;
  const entry = emitTo(options.audit, ev);
  for (const t of outcome?.toolCalls ?? []) {
    const call: AuditEventInput = {
      type: 'tool.call',
      model,
      resource: { type: 'tool', id: t.name },
      action: 'request',
      meta: { toolCallId: t.id, ...(entry === '' ? {} : { completionEntry: entry }) },
    };
    if (content) call.content = { toolArgs: parseArgs(t.args) };
    emitTo(options.audit, call);
  }
}

function usageOfChat(u: OpenAI.Completions.CompletionUsage): Usage {
  return { inputTokens: u.prompt_tokens, outputTokens: u.completion_tokens, totalTokens: u.total_tokens };
}

function newOutcome(): Outcome {
  return {
    text: '',
    toolCalls: [],
    usage: undefined,
    finishReason: undefined,
    responseId: undefined,
    responseModel: undefined,
  };
}
