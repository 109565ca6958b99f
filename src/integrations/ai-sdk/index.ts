/**
 * `sealtrail/ai-sdk`: the Vercel AI SDK (`ai` 6) recorded in the audit trail.
 *
 * - {@link sealtrailMiddleware}, a language-model middleware (`wrapLanguageModel`): each model call,
 *   generated or streamed, as a `model.request` entry when it starts (the prompt, before the
 *   provider is asked; `recordRequests: false` for none) and a `model.completion` entry when it
 *   ends — prompt, response (a stream assembled), reasoning, the tool calls the model asked for,
 *   usage, finish reason, latency, errors, `meta.requestEntry` the request's id — plus one
 *   `tool.call` entry per tool call requested. A stream that errors, is aborted or is cancelled
 *   before its `finish` part is recorded with what it produced, flagged `meta.incomplete` (and
 *   `meta.cancelled` when its reader cancelled it). What the caller receives is not changed.
 * - {@link sealtrailTelemetry}, a telemetry integration (`experimental_telemetry.integrations`, or
 *   `registerTelemetryIntegration`): each tool execution as a `tool.result` entry (arguments,
 *   result or error, duration) and each step as an `agent.step` entry.
 * - {@link sealtrailEmbeddingMiddleware}, an embedding-model middleware (`wrapEmbeddingModel`): each
 *   embedding call (`embed`, `embedMany`) as a `model.embedding` entry — the texts embedded, how
 *   many vectors of which size came back (not the vectors), usage, latency, errors.
 *
 * ```ts
 * const model = wrapLanguageModel({ model: openai('gpt-4o'), middleware: sealtrailMiddleware() });
 * await generateText({ model, prompt, tools, experimental_telemetry: { isEnabled: true, integrations: sealtrailTelemetry() } });
 * ```
 */
import type { EmbeddingModelMiddleware, LanguageModelMiddleware, TelemetryIntegration } from 'ai';
import { describeError } from '../../config/index.js';
import type { AuditEventInput, Content, Meta, Usage } from '../../event/index.js';
import { parseArgs, toJsonSafe } from '../json-safe.js';
import { emitRequest, emitTo, type IntegrationOptions } from '../sink.js';

/** Options of the AI SDK integration. */
export type AiSdkAuditOptions = IntegrationOptions;

type GenerateResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapGenerate']>>>;
type StreamResult = Awaited<ReturnType<NonNullable<LanguageModelMiddleware['wrapStream']>>>;
type StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;
type V3Usage = GenerateResult['usage'];

interface Collected {
  text: string;
  reasoning: string;
  toolCalls: Array<{ toolCallId: string; toolName: string; input: string }>;
  usage: V3Usage | undefined;
  finishReason: string | undefined;
  responseId: string | undefined;
  responseModel: string | undefined;
  /** A stream's `finish` part was seen. */
  ended?: boolean;
  /** The consumer cancelled the stream (an abort, or it stopped reading). */
  cancelled?: boolean;
}

/**
 * The middleware for `wrapLanguageModel({ model, middleware })`. Recording never changes or
 * delays what the caller receives; a failure to record is a diagnostic.
 */
export function sealtrailMiddleware(options: AiSdkAuditOptions = {}): LanguageModelMiddleware {
  const content = options.recordContent !== false;
  return {
    specificationVersion: 'v3',
    wrapGenerate: async ({ doGenerate, params, model }) => {
      const call = startCall(options, content, model, params.prompt, 'generate');
      let result: GenerateResult;
      try {
        result = await doGenerate();
      } catch (error) {
        record(options, content, call, undefined, error);
        throw error;
      }
      const c: Collected = emptyCollected();
      for (const part of result.content) {
        if (part.type === 'text') c.text += part.text;
        else if (part.type === 'reasoning') c.reasoning += part.text;
        else if (part.type === 'tool-call') c.toolCalls.push(part);
      }
      c.usage = result.usage;
      c.finishReason = result.finishReason.unified;
      c.responseId = result.response?.id;
      c.responseModel = result.response?.modelId;
      record(options, content, call, c, undefined);
      return result;
    },
    wrapStream: async ({ doStream, params, model }) => {
      // recorded when the stream is asked for, before its first chunk
      const call = startCall(options, content, model, params.prompt, 'stream');
      let result: StreamResult;
      try {
        result = await doStream();
      } catch (error) {
        record(options, content, call, undefined, error);
        throw error;
      }
      const c = emptyCollected();
      let error: unknown;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        record(options, content, call, c, error);
      };
      // A stream of our own rather than a TransformStream, whose flush runs only on a normal end:
      // a source that errors and a consumer that cancels (an abort) are recorded too.
      const reader = result.stream.getReader();
      const stream = new ReadableStream<StreamPart>({
        async pull(controller) {
          let next: Awaited<ReturnType<typeof reader.read>>;
          try {
            next = await reader.read();
          } catch (err) {
            error ??= err;
            finish();
            controller.error(err);
            return;
          }
          if (next.done) {
            finish();
            controller.close();
            return;
          }
          const part = next.value;
          controller.enqueue(part);
          switch (part.type) {
            case 'text-delta':
              c.text += part.delta;
              break;
            case 'reasoning-delta':
              c.reasoning += part.delta;
              break;
            case 'tool-call':
              c.toolCalls.push(part);
              break;
            case 'response-metadata':
              c.responseId ??= part.id;
              c.responseModel ??= part.modelId;
              break;
            case 'finish':
              c.usage = part.usage;
              c.finishReason = part.finishReason.unified;
              c.ended = true;
              break;
            case 'error':
              error = part.error;
              break;
          }
        },
        cancel(reason) {
          c.cancelled = true;
          finish();
          return reader.cancel(reason);
        },
      });
      return { ...result, stream };
    },
  };
}

/**
 * The telemetry integration for `experimental_telemetry: { isEnabled: true, integrations }` (or
 * `registerTelemetryIntegration`): tool executions and steps.
 */
export function sealtrailTelemetry(options: AiSdkAuditOptions = {}): TelemetryIntegration {
  const content = options.recordContent !== false;
  return {
    onToolCallFinish(event) {
      const ev: AuditEventInput = {
        type: 'tool.result',
        resource: { type: 'tool', id: event.toolCall.toolName },
        action: 'execute',
        latencyMs: round(event.durationMs),
        outcome: event.success ? 'success' : 'error',
        meta: {
          toolCallId: event.toolCall.toolCallId,
          ...(event.stepNumber === undefined ? {} : { step: event.stepNumber }),
        },
      };
      if (event.model !== undefined) ev.model = { provider: event.model.provider, name: event.model.modelId };
      if (content) {
        const c: Content = { toolArgs: toJsonSafe(event.toolCall.input) };
        if (event.success) c.toolResult = toJsonSafe(event.output);
        else c.error = describeError(event.error);
        ev.content = c;
      } else if (!event.success) {
        ev.content = { error: describeError(event.error) };
      }
      emitTo(options.audit, ev);
    },
    onStepFinish(step) {
      const ev: AuditEventInput = {
        type: 'agent.step',
        model: { provider: step.model.provider, name: step.model.modelId },
        outcome: step.finishReason === 'error' ? 'error' : 'success',
        meta: {
          finishReason: step.finishReason,
          toolCalls: step.toolCalls.length,
          ...(typeof step.stepNumber === 'number' ? { step: step.stepNumber } : {}),
        },
      };
      const usage = usageOfTotals(step.usage);
      if (usage !== undefined) ev.usage = usage;
      if (content) {
        const c: Content = {};
        if (step.text !== '') c.response = step.text;
        if (step.toolCalls.length > 0)
          c.toolCalls = step.toolCalls.map((t) => ({
            id: t.toolCallId,
            name: t.toolName,
            args: toJsonSafe(t.input),
          }));
        if (Object.keys(c).length > 0) ev.content = c;
      }
      emitTo(options.audit, ev);
    },
  };
}

/**
 * The middleware for `wrapEmbeddingModel({ model, middleware })`: one `model.embedding` entry per
 * call to the model (`embedMany` may split its values into several). What the caller receives is
 * not changed; a failure to record is a diagnostic.
 */
export function sealtrailEmbeddingMiddleware(options: AiSdkAuditOptions = {}): EmbeddingModelMiddleware {
  const content = options.recordContent !== false;
  return {
    specificationVersion: 'v3',
    wrapEmbed: async ({ doEmbed, params, model }) => {
      const start = performance.now();
      const ev: AuditEventInput = {
        type: 'model.embedding',
        model: { provider: model.provider, name: model.modelId },
        meta: { values: params.values.length },
      };
      const body: Content = content ? { values: toJsonSafe(params.values) } : {};
      const done = (): void => {
        ev.latencyMs = round(performance.now() - start);
        if (Object.keys(body).length > 0) ev.content = body;
        emitTo(options.audit, ev);
      };
      let result: Awaited<ReturnType<typeof doEmbed>>;
      try {
        result = await doEmbed();
      } catch (error) {
        ev.outcome = 'error';
        body.error = describeError(error);
        done();
        throw error;
      }
      ev.outcome = 'success';
      // The vectors are derived data, large, and not evidence of what was asked: counted, not kept.
      const dimensions = result.embeddings[0]?.length;
      if (dimensions !== undefined) ev.meta!.dimensions = dimensions;
      // An embedding's only tokens are its input's.
      const tokens = result.usage?.tokens;
      if (tokens !== undefined) ev.usage = { inputTokens: tokens, totalTokens: tokens };
      done();
      return result;
    },
  };
}

function emptyCollected(): Collected {
  return {
    text: '',
    reasoning: '',
    toolCalls: [],
    usage: undefined,
    finishReason: undefined,
    responseId: undefined,
    responseModel: undefined,
  };
}

/** A model call under way: what its request and completion entries share, and when it started. */
interface Call {
  model: { provider: string; modelId: string };
  prompt: unknown;
  operation: 'generate' | 'stream';
  start: number;
  /** `meta.requestEntry` of the completion: the request's entry id. */
  link: Meta;
}

/** Starts a call: its `model.request` entry, before the provider is asked. */
function startCall(
  options: AiSdkAuditOptions,
  content: boolean,
  model: { provider: string; modelId: string },
  prompt: unknown,
  operation: 'generate' | 'stream',
): Call {
  const call: Call = { model, prompt, operation, start: performance.now(), link: {} };
  call.link = emitRequest(options, () => callEvent('model.request', call, content));
  return call;
}

/** The fields a call's request and completion share: the model, the operation, the prompt. */
function callEvent(
  type: 'model.request' | 'model.completion',
  call: Call,
  content: boolean,
): AuditEventInput & { meta: Meta } {
  const ev: AuditEventInput & { meta: Meta } = {
    type,
    model: { provider: call.model.provider, name: call.model.modelId },
    meta: { operation: call.operation },
  };
  if (content) ev.content = { prompt: toJsonSafe(call.prompt) };
  return ev;
}

/** One `model.completion` entry for a call, and one `tool.call` entry per tool call asked for. */
function record(
  options: AiSdkAuditOptions,
  content: boolean,
  call: Call,
  c: Collected | undefined,
  error: unknown,
): void {
  const ev = callEvent('model.completion', call, content);
  ev.latencyMs = round(performance.now() - call.start);
  ev.outcome = error === undefined ? 'success' : 'error';
  Object.assign(ev.meta, call.link);
  const body: Content = ev.content ?? {};
  if (c !== undefined) {
    const usage = usageOf(c.usage);
    if (usage !== undefined) ev.usage = usage;
    if (c.finishReason !== undefined) ev.meta.finishReason = c.finishReason;
    if (c.responseId !== undefined) ev.meta.responseId = c.responseId;
    if (c.responseModel !== undefined) ev.meta.responseModel = c.responseModel;
    if (c.toolCalls.length > 0) ev.meta.toolCalls = c.toolCalls.length;
    if (call.operation === 'stream' && c.ended !== true) ev.meta.incomplete = true;
    if (c.cancelled) ev.meta.cancelled = true;
    if (content) {
      body.response = c.text;
      if (c.reasoning !== '') body.reasoning = c.reasoning;
      if (c.toolCalls.length > 0)
        body.toolCalls = c.toolCalls.map((t) => ({
          id: t.toolCallId,
          name: t.toolName,
          args: parseArgs(t.input),
        }));
    }
  }
  if (error !== undefined) body.error = describeError(error);
  if (Object.keys(body).length > 0) ev.content = body;
  const entry = emitTo(options.audit, ev);
  for (const t of c?.toolCalls ?? []) {
    const toolCall: AuditEventInput = {
      type: 'tool.call',
      model: { provider: call.model.provider, name: call.model.modelId },
      resource: { type: 'tool', id: t.toolName },
      action: 'request',
      meta: { toolCallId: t.toolCallId, ...(entry === '' ? {} : { completionEntry: entry }) },
    };
    if (content) toolCall.content = { toolArgs: parseArgs(t.input) };
    emitTo(options.audit, toolCall);
  }
}

function usageOf(u: V3Usage | undefined): Usage | undefined {
  if (u === undefined) return undefined;
  return usageOfTotals({ inputTokens: u.inputTokens.total, outputTokens: u.outputTokens.total });
}

function usageOfTotals(u: {
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  totalTokens?: number | undefined;
}): Usage | undefined {
  const out: Usage = {};
  if (u.inputTokens !== undefined) out.inputTokens = u.inputTokens;
  if (u.outputTokens !== undefined) out.outputTokens = u.outputTokens;
  const total =
    u.totalTokens ??
    (u.inputTokens !== undefined && u.outputTokens !== undefined
      ? u.inputTokens + u.outputTokens
      : undefined);
  if (total !== undefined) out.totalTokens = total;
  return Object.keys(out).length === 0 ? undefined : out;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
