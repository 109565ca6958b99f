/**
 * `sealtrail/openai`: the OpenAI SDK (`openai` 6) recorded in the audit trail.
 *
 * `auditOpenAI(client)` returns a view of the same client in which `create` and `parse` of
 * `chat.completions` and `responses` are observed: each call, streamed or not, becomes a
 * `model.request` entry when it is made, before the SDK sends it (the prompt; `recordRequests:
 * false` for none), and a `model.completion` entry (prompt, output, a refusal, the other choices
 * of `n` > 1, tool calls asked for — function and custom tools —, usage — from the final usage
 * chunk of a chat stream or from `response.completed` —, finish reason, latency, errors, a model
 * failure reported inside a 200 as an error, and `meta.requestEntry` the request's id), plus one
 * `tool.call` entry per tool call. In the Responses API the built-in tools the application runs
 * (computer use, local shell, shell, apply patch, and an MCP call awaiting approval) are tool calls too, their action kept as sent (a computer call's pending
 * safety checks counted in `meta.pendingSafetyChecks`); the tools OpenAI runs
 * itself become entries of their own, counted in `meta.serverToolCalls`: an MCP call and the code
 * interpreter a `tool.result` (arguments or code, output, error), a web or file search a
 * `rag.query` (the query, and the sources or results when `include` asked for them), image
 * generation a `tool.result` with its status only (never the image). A stream is read for them
 * from its terminal event (one cut short before it records none, as for function calls). A stream that ends before its last chunk is marked
 * `incomplete` (and `aborted` when its controller was). The caller gets the very `APIPromise` and
 * stream objects the SDK returns; `asResponse()` leaves the body unread (see `watchCall`). Not observed: the stream
 * helpers (`chat.completions.stream()`, `runTools()`, `responses.stream()`), embeddings and the
 * other APIs. The client passed in is not modified.
 *
 * ```ts
 * const openai = auditOpenAI(new OpenAI());
 * ```
 */
import type OpenAI from 'openai';
import { describeError } from '../../config/index.js';
import type { AuditEventInput, Content, Meta, Resource, Usage } from '../../event/index.js';
import { getRequestContext, type RequestContext, runWithRequestContext } from '../context/index.js';
import { parseArgs, toJsonSafe } from '../json-safe.js';
import { emitRequest, emitTo, type IntegrationOptions } from '../sink.js';

/** Options of {@link auditOpenAI}. */
export interface OpenAIAuditOptions extends IntegrationOptions {
  /** Recorded as `model.provider` (default `openai`; say `azure.openai` or your gateway's name). */
  provider?: string;
}

type Api = 'chat.completions' | 'responses';

/** A chat choice after the first (`n` > 1). */
interface OtherChoice {
  index: number;
  response: string;
  refusal?: string;
  finishReason?: string;
}

/**
 * A tool call the application is to run. `args`: a function's JSON arguments as text, or with
 * `custom` a custom tool's free-text input (kept as sent, not read as JSON). `action`: a built-in
 * tool's request (computer use, shell, patch), kept as sent; `safetyChecks` counts the pending
 * safety checks of a computer call, which the application must acknowledge.
 */
type ToolCall =
  | { id: string; name: string; args: string; custom?: true }
  | { id: string; name: string; action: unknown; safetyChecks?: number };

/**
 * A tool OpenAI ran itself during a Responses call: its entry, less the model and the link to the
 * completion. `content` (arguments, query, output, documents) is recorded only with content on;
 * an MCP tool's `error` either way, as the other integrations record a tool's error.
 */
interface ServerCall {
  type: 'tool.call' | 'tool.result' | 'rag.query';
  resource: Resource;
  action: string;
  meta: Meta;
  content: Content;
  error?: string;
}

interface Outcome {
  text: string;
  /** The model's refusal (chat `message.refusal`, a Responses `refusal` part), '' when none. */
  refusal: string;
  /** Chat choices after the first, when `n` > 1 asked for several. */
  others: OtherChoice[];
  toolCalls: ToolCall[];
  /** Responses: the tools OpenAI ran itself (MCP, web and file search, code, images). */
  serverCalls: ServerCall[];
  usage: Usage | undefined;
  finishReason: string | undefined;
  responseId: string | undefined;
  responseModel: string | undefined;
  /** A stream's last chunk (a finish reason, or a Responses terminal event) was seen. */
  ended?: boolean;
  /** The stream ended before its last chunk (the caller stopped reading, or aborted). */
  incomplete?: boolean;
  /** The stream was aborted through its controller. */
  aborted?: boolean;
  /** Some chunks could not be read. */
  unreadable?: boolean;
  /** The caller took the raw `Response`: its body was left unread. */
  raw?: boolean;
  /** The model reported a failure inside a successful HTTP response (Responses `failed`, `error`). */
  failure?: { code?: string; message: string };
}

/** The methods observed on `chat.completions` and `responses`. */
const OBSERVED = new Set<PropertyKey>(['create', 'parse']);

/**
 * Observes `client`'s Chat Completions and Responses calls (`create`, and `parse` with its
 * structured output), also on clients made by `withOptions()`. Returns the same type; the
 * original client keeps working unobserved.
 */
export function auditOpenAI<T extends OpenAI>(client: T, options: OpenAIAuditOptions = {}): T {
  const observe = (api: Api, call: (...args: unknown[]) => unknown, self: object) =>
    function observed(...args: unknown[]): unknown {
      const params = (args[0] ?? {}) as Record<string, unknown>;
      const start = performance.now();
      // before the SDK sends anything: the prompt is on record even if no answer ever comes
      const link = emitRequest(options, () => callEvent('model.request', { api, params, options }));
      const promise = call.apply(self, args);
      watchCall(promise, { api, params, start, options, link, context: getRequestContext() });
      return promise;
    };
  const resource = (target: object, api: Api) =>
    view(target, (t, key, value) =>
      OBSERVED.has(key) && typeof value === 'function'
        ? observe(api, value as (...args: unknown[]) => unknown, t)
        : undefined,
    );
  const completions = resource(client.chat.completions, 'chat.completions');
  const chat = view(client.chat, (_t, key) => (key === 'completions' ? completions : undefined));
  const responses = resource(client.responses, 'responses');
  const withOptions = (opts: Parameters<OpenAI['withOptions']>[0]) =>
    auditOpenAI(client.withOptions(opts) as T, options);
  return view(client, (_t, key) => {
    if (key === 'chat') return chat;
    if (key === 'responses') return responses;
    if (key === 'withOptions') return withOptions;
    return undefined;
  });
}

/**
 * A view of `target` in which `override` may replace a property. Every other method is bound to
 * the target itself (the SDK's classes keep private state that a proxy as `this` cannot reach),
 * once, so a method read twice is the same function.
 */
function view<R extends object>(target: R, override: (t: R, key: PropertyKey, value: unknown) => unknown): R {
  const bound = new Map<PropertyKey, { of: unknown; fn: unknown }>();
  return new Proxy(target, {
    get(t, key) {
      const value = Reflect.get(t, key, t);
      const replaced = override(t, key, value);
      if (replaced !== undefined) return replaced;
      if (typeof value !== 'function' || key === 'constructor') return value;
      const known = bound.get(key);
      if (known?.of === value) return known.fn;
      const fn = (value as (...a: unknown[]) => unknown).bind(t);
      bound.set(key, { of: value, fn });
      return fn;
    },
  });
}

interface Call {
  api: Api;
  params: Record<string, unknown>;
  start: number;
  options: OpenAIAuditOptions;
  /** `meta.requestEntry` of the completion: the request's entry id. */
  link: Meta;
  /** The request context the call was made in: the SDK parses where its result is awaited. */
  context: RequestContext | undefined;
}

/** The parts of the SDK's `APIPromise` the observation relies on. */
interface SdkPromise {
  responsePromise: PromiseLike<{ response: unknown }>;
  parse(): PromiseLike<unknown>;
  asResponse(): PromiseLike<unknown>;
}

/**
 * Records the call once, when it settles. The SDK parses a response body only when someone asks
 * for the result, and a caller who takes the raw `Response` (`asResponse()`) must get its body
 * unread. So the call is recorded from whatever is asked first: the parsed result (this
 * reaction is attached before the caller's own, so a stream is watched before anyone reads it),
 * or the raw response (recorded without its output, `meta.rawResponse`). When the response
 * arrives before anyone has asked, a non-streamed body is read from a copy, so the caller can
 * still take it either way; a stream nobody asks for is not recorded.
 */
function watchCall(promise: unknown, call: Call): void {
  let recorded = false;
  const once = (step: () => void): void => {
    if (recorded) return;
    recorded = true;
    guard(call, step);
  };
  const done = (value: unknown): void =>
    once(() =>
      call.params.stream === true
        ? wrapStream(value, call)
        : record(call, fromResult(call.api, value), undefined),
    );
  const failed = (error: unknown): void => once(() => record(call, undefined, error));
  const p = promise as Partial<SdkPromise>;
  const { parse, asResponse } = p;
  if (
    typeof parse !== 'function' ||
    typeof asResponse !== 'function' ||
    typeof p.responsePromise?.then !== 'function'
  ) {
    (promise as PromiseLike<unknown>).then(done, failed);
    return;
  }
  let asked = false;
  // The first ask decides what is recorded; its reaction goes before the caller's.
  const firstAsk = (result: PromiseLike<unknown>, settled: (value: unknown) => void) => {
    if (!asked) {
      asked = true;
      result.then(settled, failed);
    }
    return result;
  };
  p.parse = function (this: unknown) {
    return firstAsk(parse.call(this), done);
  };
  p.asResponse = function (this: unknown) {
    return firstAsk(asResponse.call(this), () =>
      once(() => record(call, { ...newOutcome(), raw: true }, undefined)),
    );
  };
  p.responsePromise.then(({ response }) => {
    if (asked || call.params.stream === true) return;
    const copy = (response as { clone?: () => { json(): Promise<unknown> } }).clone?.();
    if (copy === undefined) return;
    copy.json().then(done, () => once(() => record(call, { ...newOutcome(), unreadable: true }, undefined)));
  }, failed);
}

/** Runs a recording step; one that throws (a response of an unexpected shape) is recorded as such. */
function guard(call: Call, step: () => void): void {
  try {
    step();
  } catch (err) {
    try {
      record(call, undefined, new Error(`the response could not be read: ${(err as Error).message}`));
    } catch {
      // never break the caller's promise chain
    }
  }
}

/** Replaces the stream's iterator with one that watches the chunks and records at the end. */
function wrapStream(stream: unknown, call: Call): void {
  const s = stream as { iterator?: () => AsyncIterator<unknown>; controller?: AbortController };
  const original = s.iterator;
  if (typeof original !== 'function') {
    record(call, undefined, new Error('unrecognized stream object'));
    return;
  }
  const acc = newOutcome();
  const tools = new Map<number, { id: string; name: string; args: string }>();
  const others = new Map<number, OtherChoice>();
  let recorded = false;
  let started = false;
  const finish = (error: unknown): void => {
    if (recorded) return;
    recorded = true;
    acc.toolCalls.push(...[...tools.entries()].sort((x, y) => x[0] - y[0]).map(([, t]) => t));
    acc.others = [...others.values()].sort((x, y) => x.index - y.index);
    if (!acc.ended) acc.incomplete = true;
    record(call, acc, error);
  };
  // Aborted before anyone read it: the call was made, and is recorded as aborted.
  s.controller?.signal?.addEventListener?.(
    'abort',
    () => {
      if (started) return;
      acc.aborted = true;
      finish(undefined);
    },
    { once: true },
  );
  s.iterator = async function* watched() {
    started = true;
    try {
      for await (const chunk of { [Symbol.asyncIterator]: () => original.call(stream) }) {
        try {
          if (call.api === 'chat.completions') watchChatChunk(chunk, acc, tools, others);
          else watchResponseEvent(chunk, acc);
        } catch {
          acc.unreadable = true; // a chunk of an unexpected shape: the caller still gets it
        }
        yield chunk;
      }
      // The SDK ends a stream quietly when its controller is aborted (and aborts it itself when
      // the caller stops reading, which does not reach this line).
      if (s.controller?.signal?.aborted === true) acc.aborted = true;
    } catch (error) {
      finish(error);
      throw error;
    } finally {
      finish(undefined);
    }
  };
}

function watchChatChunk(
  chunk: unknown,
  acc: Outcome,
  tools: Map<number, { id: string; name: string; args: string }>,
  others: Map<number, OtherChoice>,
): void {
  const c = chunk as OpenAI.Chat.Completions.ChatCompletionChunk;
  // Azure's first chunk (prompt filter results) has an empty id and model.
  if (!acc.responseId && c.id) acc.responseId = c.id;
  if (!acc.responseModel && c.model) acc.responseModel = c.model;
  if (c.usage) acc.usage = usageOfChat(c.usage);
  for (const choice of c.choices ?? []) {
    if (choice.index !== 0) {
      const other = others.get(choice.index) ?? { index: choice.index, response: '' };
      if (typeof choice.delta?.content === 'string') other.response += choice.delta.content;
      if (typeof choice.delta?.refusal === 'string')
        other.refusal = (other.refusal ?? '') + choice.delta.refusal;
      if (choice.finish_reason) other.finishReason = choice.finish_reason;
      others.set(choice.index, other);
      continue;
    }
    if (typeof choice.delta?.content === 'string') acc.text += choice.delta.content;
    if (typeof choice.delta?.refusal === 'string') acc.refusal += choice.delta.refusal;
    for (const t of choice.delta?.tool_calls ?? []) {
      const known = tools.get(t.index) ?? { id: '', name: '', args: '' };
      if (t.id) known.id = t.id;
      if (t.function?.name) known.name = t.function.name; // sent whole, as the SDK's own accumulator reads it
      if (t.function?.arguments) known.args += t.function.arguments;
      tools.set(t.index, known);
    }
    if (choice.finish_reason) {
      acc.finishReason = choice.finish_reason;
      acc.ended = true;
    }
  }
}

function watchResponseEvent(event: unknown, acc: Outcome): void {
  const e = event as OpenAI.Responses.ResponseStreamEvent;
  if (e.type === 'response.output_text.delta') acc.text += e.delta;
  else if (e.type === 'response.refusal.delta') acc.refusal += e.delta;
  else if (
    e.type === 'response.completed' ||
    e.type === 'response.incomplete' ||
    e.type === 'response.failed'
  ) {
    const done = fromResult('responses', e.response);
    Object.assign(acc, done, {
      text: done.text === '' ? acc.text : done.text,
      refusal: done.refusal === '' ? acc.refusal : done.refusal,
      ended: true,
    });
  } else if (e.type === 'error') {
    acc.failure = failureOf(e);
    acc.ended = true;
  }
}

function fromResult(api: Api, value: unknown): Outcome {
  const out = newOutcome();
  if (value === null || typeof value !== 'object') return out; // an empty body
  if (api === 'chat.completions') {
    const r = value as OpenAI.Chat.Completions.ChatCompletion;
    out.responseId = r.id;
    out.responseModel = r.model;
    if (r.usage) out.usage = usageOfChat(r.usage);
    const [choice, ...others] = r.choices ?? [];
    for (const o of others) {
      const other: OtherChoice = { index: o.index, response: o.message?.content ?? '' };
      if (typeof o.message?.refusal === 'string') other.refusal = o.message.refusal;
      if (o.finish_reason) other.finishReason = o.finish_reason;
      out.others.push(other);
    }
    if (choice !== undefined) {
      out.text = choice.message?.content ?? '';
      out.refusal = choice.message?.refusal ?? '';
      out.finishReason = choice.finish_reason;
      for (const t of choice.message?.tool_calls ?? [])
        if (t.type === 'function')
          out.toolCalls.push({ id: t.id, name: t.function.name, args: t.function.arguments });
        else if (t.type === 'custom')
          out.toolCalls.push({ id: t.id, name: t.custom.name, args: t.custom.input, custom: true });
    }
    return out;
  }
  const r = value as OpenAI.Responses.Response;
  out.responseId = r.id;
  out.responseModel = r.model;
  out.finishReason = r.incomplete_details?.reason ?? r.status;
  if (r.status === 'failed') out.failure = failureOf(r.error ?? { message: 'the response failed' });
  if (r.usage) {
    out.usage = {
      inputTokens: r.usage.input_tokens,
      outputTokens: r.usage.output_tokens,
      totalTokens: r.usage.total_tokens,
    };
  }
  for (const item of r.output ?? []) {
    if (item.type === 'message') {
      for (const part of item.content ?? []) {
        if (part.type === 'output_text') out.text += part.text;
        else if (part.type === 'refusal') out.refusal += part.refusal;
      }
    } else if (item.type === 'function_call') {
      out.toolCalls.push({ id: item.call_id, name: item.name, args: item.arguments });
    } else if (item.type === 'custom_tool_call') {
      out.toolCalls.push({ id: item.call_id, name: item.name, args: item.input, custom: true });
    } else if (item.type === 'computer_call') {
      const safetyChecks = item.pending_safety_checks?.length ?? 0;
      // `action` in the preview tool, a batch of `actions` in the GA one
      const action = item.actions ?? item.action;
      out.toolCalls.push({
        id: item.call_id,
        name: 'computer',
        action,
        ...(safetyChecks > 0 ? { safetyChecks } : {}),
      });
    } else if (item.type === 'local_shell_call') {
      out.toolCalls.push({ id: item.call_id, name: 'local_shell', action: item.action });
    } else if (item.type === 'shell_call') {
      out.toolCalls.push({ id: item.call_id, name: 'shell', action: item.action });
    } else if (item.type === 'apply_patch_call') {
      out.toolCalls.push({ id: item.call_id, name: 'apply_patch', action: item.operation });
    } else if (item.type === 'mcp_approval_request') {
      // the model asks to call an MCP tool that needs the application's approval first
      out.toolCalls.push({ id: item.id, name: item.name, args: item.arguments });
    } else {
      const ran = serverCallOf(item);
      if (ran !== undefined) out.serverCalls.push(ran);
    }
  }
  return out;
}

/**
 * A tool OpenAI ran itself, from its output item (the shapes of `openai` 6.x). Fields the API
 * returns only when asked through `include` (search sources and results, code outputs) are
 * recorded when present. A generated image is never recorded: only its status.
 */
function serverCallOf(item: OpenAI.Responses.ResponseOutputItem): ServerCall | undefined {
  if (typeof item.id !== 'string') return undefined; // every item recorded here has one
  const meta: Meta = { toolCallId: item.id };
  if ('status' in item && typeof item.status === 'string') meta.status = item.status;
  const content: Content = {};
  const tool = (id: string): ServerCall => ({
    type: 'tool.result',
    resource: { type: 'tool', id },
    action: 'execute',
    meta,
    content,
  });
  switch (item.type) {
    case 'mcp_call': {
      // neither output nor error (a response cut short): asked for, not run
      const ran = item.output != null || item.error != null;
      const call: ServerCall = {
        type: ran ? 'tool.result' : 'tool.call',
        resource: { type: 'tool', id: item.name, server: item.server_label },
        action: ran ? 'execute' : 'request',
        meta,
        content,
      };
      if (item.approval_request_id) meta.approvalRequestId = item.approval_request_id;
      content.toolArgs = parseArgs(item.arguments);
      if (item.output != null) content.toolResult = item.output;
      if (item.error != null) call.error = item.error;
      return call;
    }
    case 'web_search_call': {
      // `action` is absent from the web_search_call items of older responses
      const { sources, ...query } = (item.action ?? {}) as OpenAI.Responses.ResponseFunctionWebSearch.Search;
      if (sources !== undefined) meta.documents = sources.length;
      content.query = toJsonSafe(query);
      if (sources !== undefined) content.documents = toJsonSafe(sources);
      return {
        type: 'rag.query',
        resource: { type: 'retriever', id: 'web_search' },
        action: query.type ?? 'search',
        meta,
        content,
      };
    }
    case 'file_search_call':
      content.query = toJsonSafe(item.queries);
      if (item.results != null) {
        meta.documents = item.results.length;
        content.documents = toJsonSafe(item.results);
      }
      return {
        type: 'rag.query',
        resource: { type: 'retriever', id: 'file_search' },
        action: 'search',
        meta,
        content,
      };
    case 'code_interpreter_call':
      meta.containerId = item.container_id;
      if (item.code != null) content.toolArgs = item.code;
      if (item.outputs != null) content.toolResult = toJsonSafe(item.outputs);
      return tool('code_interpreter');
    case 'image_generation_call':
      return tool('image_generation');
    default:
      return undefined;
  }
}

/**
 * The fields a call's request and completion share: the model as asked for, the API, whether it
 * streams, and the prompt (and a Responses call's instructions) when content is recorded.
 */
function callEvent(
  type: 'model.request' | 'model.completion',
  { api, params, options }: Pick<Call, 'api' | 'params' | 'options'>,
): AuditEventInput & { model: { provider: string; name: string }; meta: Meta } {
  const ev: AuditEventInput & { model: { provider: string; name: string }; meta: Meta } = {
    type,
    model: { provider: options.provider ?? 'openai', name: String(params.model ?? '') },
    meta: { api, stream: params.stream === true },
  };
  if (options.recordContent !== false) {
    const body: Content = {};
    if (api === 'chat.completions') body.prompt = toJsonSafe(params.messages);
    else {
      body.prompt = toJsonSafe(params.input);
      if (params.instructions !== undefined) body.instructions = toJsonSafe(params.instructions);
    }
    ev.content = body;
  }
  return ev;
}

/**
 * Records the call in the request that made it, wherever its result is awaited (a completion
 * awaited outside the request had no actor while its request had one).
 */
function record(call: Call, outcome: Outcome | undefined, error: unknown): void {
  const context = call.context;
  if (context === undefined || getRequestContext() === context) recordNow(call, outcome, error);
  else runWithRequestContext(context, () => recordNow(call, outcome, error));
}

function recordNow(call: Call, outcome: Outcome | undefined, error: unknown): void {
  const { start, options } = call;
  const content = options.recordContent !== false;
  const ev = callEvent('model.completion', call);
  const { model, meta } = ev;
  const failure = outcome?.failure;
  ev.latencyMs = Math.round((performance.now() - start) * 1000) / 1000;
  ev.outcome = error === undefined && failure === undefined ? 'success' : 'error';
  Object.assign(meta, call.link);
  const body: Content = ev.content ?? {};
  if (outcome !== undefined) {
    if (outcome.usage !== undefined) ev.usage = outcome.usage;
    if (outcome.finishReason != null) meta.finishReason = outcome.finishReason;
    if (outcome.responseId !== undefined) meta.responseId = outcome.responseId;
    if (outcome.responseModel !== undefined) meta.responseModel = outcome.responseModel;
    if (outcome.toolCalls.length > 0) meta.toolCalls = outcome.toolCalls.length;
    if (outcome.serverCalls.length > 0) meta.serverToolCalls = outcome.serverCalls.length;
    for (const flag of ['incomplete', 'aborted', 'unreadable'] as const) if (outcome[flag]) meta[flag] = true;
    if (outcome.raw) meta.rawResponse = true;
    if (outcome.refusal !== '') meta.refusal = true;
    if (outcome.others.length > 0) meta.choices = outcome.others.length + 1;
    if (!outcome.raw && content) {
      body.response = outcome.text;
      if (outcome.refusal !== '') body.refusal = outcome.refusal;
      if (outcome.others.length > 0) body.otherChoices = outcome.others;
      if (outcome.toolCalls.length > 0)
        body.toolCalls = outcome.toolCalls.map((t) => ({ id: t.id, name: t.name, args: argsOf(t) }));
    }
  }
  if (error !== undefined) body.error = describeError(error);
  else if (failure !== undefined) body.error = { name: 'ResponseFailed', ...failure };
  if (Object.keys(body).length > 0) ev.content = body;
  const entry = emitTo(options.audit, ev);
  const link = entry === '' ? {} : { completionEntry: entry };
  for (const t of outcome?.toolCalls ?? []) {
    const call: AuditEventInput = {
      type: 'tool.call',
      model,
      resource: { type: 'tool', id: t.name },
      action: 'request',
      meta: { toolCallId: t.id, ...link },
    };
    if ('safetyChecks' in t && t.safetyChecks !== undefined) call.meta!.pendingSafetyChecks = t.safetyChecks;
    if (content) call.content = { toolArgs: argsOf(t) };
    emitTo(options.audit, call);
  }
  for (const s of outcome?.serverCalls ?? []) {
    const ran: AuditEventInput = {
      type: s.type,
      model,
      resource: s.resource,
      action: s.action,
      meta: { ...s.meta, ...link },
    };
    if (s.type !== 'tool.call')
      ran.outcome = s.error !== undefined || s.meta.status === 'failed' ? 'error' : 'success';
    const body: Content = content ? { ...s.content } : {};
    if (s.error !== undefined) body.error = { name: 'McpCallFailed', message: s.error };
    if (Object.keys(body).length > 0) ran.content = body;
    emitTo(options.audit, ran);
  }
}

/**
 * A function's JSON arguments parsed; a custom tool's free-text input (a grammar's output) and a
 * built-in tool's action as sent.
 */
function argsOf(t: ToolCall): unknown {
  if ('action' in t) return toJsonSafe(t.action);
  return t.custom ? t.args : parseArgs(t.args);
}

function usageOfChat(u: OpenAI.Completions.CompletionUsage): Usage {
  return { inputTokens: u.prompt_tokens, outputTokens: u.completion_tokens, totalTokens: u.total_tokens };
}

/** A model failure reported in a response body or stream event, as `{code?, message}`. */
function failureOf(e: { code?: unknown; message?: unknown }): { code?: string; message: string } {
  const out: { code?: string; message: string } = {
    message: String(e.message ?? 'the model reported an error'),
  };
  if (typeof e.code === 'string') out.code = e.code;
  return out;
}

function newOutcome(): Outcome {
  return {
    text: '',
    refusal: '',
    others: [],
    toolCalls: [],
    serverCalls: [],
    usage: undefined,
    finishReason: undefined,
    responseId: undefined,
    responseModel: undefined,
  };
}
