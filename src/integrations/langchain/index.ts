/**
 * `sealtrail/langchain`: a LangChain.js (`@langchain/core` 1) callback handler that records chat
 * model and LLM calls (`model.completion`), tool runs (`tool.result`), retrievals (`rag.query`)
 * and chain runs (`agent.step`), each with `meta.runId` and `meta.parentRunId` so the tree of a
 * run can be rebuilt. `awaitHandlers` is on: LangChain waits for each record, so nothing is lost
 * when the process ends right after a run, and the request context stays the caller's.
 *
 * ```ts
 * const handler = new SealtrailCallbackHandler();
 * await chain.invoke(input, { callbacks: [handler] });
 * ```
 */
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import type { DocumentInterface } from '@langchain/core/documents';
import type { Serialized } from '@langchain/core/load/serializable';
import type { BaseMessage } from '@langchain/core/messages';
import type { LLMResult } from '@langchain/core/outputs';
import { describeError } from '../../config/index.js';
import type { AuditEventInput, Content, Usage } from '../../event/index.js';
import { toJsonSafe } from '../json-safe.js';
import { emitTo, type IntegrationOptions } from '../sink.js';

/** Options of {@link SealtrailCallbackHandler}. */
export interface LangChainAuditOptions extends IntegrationOptions {
  /** Record chain runs as `agent.step` entries (default true). */
  chains?: boolean;
}

interface Run {
  start: number;
  name: string;
  parentRunId: string | undefined;
  input: unknown;
  provider?: string;
  model?: string;
  toolCallId?: string;
}

/** The callback handler. One instance can serve many runs at once. */
export class SealtrailCallbackHandler extends BaseCallbackHandler {
  name = 'sealtrail';
  override awaitHandlers = true;
  readonly #options: LangChainAuditOptions;
  readonly #runs = new Map<string, Run>();

  constructor(options: LangChainAuditOptions = {}) {
    super();
    this.#options = options;
    if (options.chains === false) this.ignoreChain = true;
  }

  override handleChatModelStart(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
    this.#startModel(
      llm,
      messages.length === 1 ? messages[0]!.map(messageOf) : messages.map((m) => m.map(messageOf)),
      runId,
      parentRunId,
      extraParams,
      metadata,
      runName,
    );
  }

  override handleLLMStart(
    llm: Serialized,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): void {
    this.#startModel(
      llm,
      prompts.length === 1 ? prompts[0] : prompts,
      runId,
      parentRunId,
      extraParams,
      metadata,
      runName,
    );
  }

  override handleLLMEnd(output: LLMResult, runId: string, parentRunId?: string): void {
    const run = this.#take(runId, parentRunId);
    const first = output.generations[0]?.[0] as { text?: string; message?: BaseMessage } | undefined;
    const message = first?.message as
      | (BaseMessage & { tool_calls?: unknown[]; usage_metadata?: Record<string, number> })
      | undefined;
    const ev = this.#modelEvent(run, runId, undefined);
    const usage = usageOf(message?.usage_metadata, output.llmOutput);
    if (usage !== undefined) ev.usage = usage;
    const toolCalls = (message?.tool_calls ?? []) as Array<{ id?: string; name: string; args: unknown }>;
    if (toolCalls.length > 0) ev.meta!.toolCalls = toolCalls.length;
    if (this.#content) {
      ev.content!.response = message !== undefined ? toJsonSafe(message.content) : (first?.text ?? '');
      if (toolCalls.length > 0)
        ev.content!.toolCalls = toolCalls.map((t) => ({
          id: t.id ?? null,
          name: t.name,
          args: toJsonSafe(t.args),
        }));
    }
    emitTo(this.#options.audit, ev);
  }

  override handleLLMError(err: Error, runId: string, parentRunId?: string): void {
    emitTo(this.#options.audit, this.#modelEvent(this.#take(runId, parentRunId), runId, err));
  }

  override handleToolStart(
    tool: Serialized,
    input: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: Record<string, unknown>,
    runName?: string,
    toolCallId?: string,
  ): void {
    const run: Run = {
      start: performance.now(),
      name: runName ?? nameOf(tool),
      parentRunId,
      input: parseMaybeJson(input),
    };
    if (toolCallId !== undefined) run.toolCallId = toolCallId;
    this.#runs.set(runId, run);
  }

  override handleToolEnd(output: unknown, runId: string, parentRunId?: string): void {
    this.#toolEvent(this.#take(runId, parentRunId), runId, output, undefined);
  }

  override handleToolError(err: Error, runId: string, parentRunId?: string): void {
    this.#toolEvent(this.#take(runId, parentRunId), runId, undefined, err);
  }

  override handleRetrieverStart(
    retriever: Serialized,
    query: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: Record<string, unknown>,
    name?: string,
  ): void {
    this.#runs.set(runId, {
      start: performance.now(),
      name: name ?? nameOf(retriever),
      parentRunId,
      input: query,
    });
  }

  override handleRetrieverEnd(documents: DocumentInterface[], runId: string, parentRunId?: string): void {
    this.#retrieverEvent(this.#take(runId, parentRunId), runId, documents, undefined);
  }

  override handleRetrieverError(err: Error, runId: string, parentRunId?: string): void {
    this.#retrieverEvent(this.#take(runId, parentRunId), runId, undefined, err);
  }

  /**
   * The callback manager of @langchain/core 1.x calls this as (chain, inputs, runId, parentRunId,
   * tags, metadata, runType, runName), not in the order its interface declares (measured: a
   * nested chain's parent otherwise reads as undefined). All are strings, so only names differ.
   */
  override handleChainStart(
    chain: Serialized,
    inputs: Record<string, unknown>,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: Record<string, unknown>,
    _runType?: string,
    runName?: string,
  ): void {
    this.#runs.set(runId, {
      start: performance.now(),
      name: runName ?? nameOf(chain),
      parentRunId,
      input: inputs,
    });
  }

  override handleChainEnd(outputs: Record<string, unknown>, runId: string, parentRunId?: string): void {
    this.#chainEvent(this.#take(runId, parentRunId), runId, outputs, undefined);
  }

  override handleChainError(err: Error, runId: string, parentRunId?: string): void {
    this.#chainEvent(this.#take(runId, parentRunId), runId, undefined, err);
  }

  get #content(): boolean {
    return this.#options.recordContent !== false;
  }

  #startModel(
    llm: Serialized,
    prompt: unknown,
    runId: string,
    parentRunId: string | undefined,
    extraParams: Record<string, unknown> | undefined,
    metadata: Record<string, unknown> | undefined,
    runName: string | undefined,
  ): void {
    const invocation = (extraParams?.invocation_params ?? {}) as Record<string, unknown>;
    const run: Run = { start: performance.now(), name: runName ?? nameOf(llm), parentRunId, input: prompt };
    const provider = metadata?.ls_provider;
    const model = metadata?.ls_model_name ?? invocation.model ?? invocation.model_name;
    if (typeof provider === 'string') run.provider = provider;
    if (typeof model === 'string') run.model = model;
    this.#runs.set(runId, run);
  }

  /** The run started earlier, or a stand-in when its start was not seen. */
  #take(runId: string, parentRunId: string | undefined): Run {
    const run = this.#runs.get(runId);
    this.#runs.delete(runId);
    return run ?? { start: performance.now(), name: 'unknown', parentRunId, input: undefined };
  }

  #base(type: AuditEventInput['type'], run: Run, runId: string, error: unknown): AuditEventInput {
    const meta: NonNullable<AuditEventInput['meta']> = { framework: 'langchain', runId, run: run.name };
    if (run.parentRunId !== undefined) meta.parentRunId = run.parentRunId;
    return {
      type,
      latencyMs: Math.round((performance.now() - run.start) * 1000) / 1000,
      outcome: error === undefined ? 'success' : 'error',
      meta,
      content: error === undefined ? {} : { error: describeError(error) },
    };
  }

  #modelEvent(run: Run, runId: string, error: unknown): AuditEventInput {
    const ev = this.#base('model.completion', run, runId, error);
    const model: NonNullable<AuditEventInput['model']> = { name: run.model ?? run.name };
    if (run.provider !== undefined) model.provider = run.provider;
    ev.model = model;
    if (this.#content) ev.content!.prompt = toJsonSafe(run.input);
    return ev;
  }

  #toolEvent(run: Run, runId: string, output: unknown, error: unknown): void {
    const ev = this.#base('tool.result', run, runId, error);
    ev.resource = { type: 'tool', id: run.name };
    ev.action = 'execute';
    if (run.toolCallId !== undefined) ev.meta!.toolCallId = run.toolCallId;
    if (this.#content) {
      ev.content!.toolArgs = toJsonSafe(run.input);
      if (error === undefined) ev.content!.toolResult = toolOutput(output);
    }
    emitTo(this.#options.audit, finish(ev));
  }

  #retrieverEvent(run: Run, runId: string, documents: DocumentInterface[] | undefined, error: unknown): void {
    const ev = this.#base('rag.query', run, runId, error);
    ev.resource = { type: 'retriever', id: run.name };
    if (documents !== undefined) ev.meta!.documents = documents.length;
    if (this.#content) {
      ev.content!.query = toJsonSafe(run.input);
      if (documents !== undefined)
        ev.content!.documents = documents.map((d) => ({
          pageContent: d.pageContent,
          metadata: toJsonSafe(d.metadata),
          ...(d.id === undefined ? {} : { id: d.id }),
        }));
    }
    emitTo(this.#options.audit, finish(ev));
  }

  #chainEvent(run: Run, runId: string, outputs: unknown, error: unknown): void {
    const ev = this.#base('agent.step', run, runId, error);
    ev.resource = { type: 'chain', id: run.name };
    ev.action = 'chain';
    if (this.#content) {
      ev.content!.inputs = normalize(run.input);
      if (error === undefined) ev.content!.outputs = normalize(outputs);
    }
    emitTo(this.#options.audit, finish(ev));
  }
}

/** Drops an empty content object. */
function finish(ev: AuditEventInput): AuditEventInput {
  if (ev.content !== undefined && Object.keys(ev.content).length === 0) delete ev.content;
  return ev;
}

function nameOf(s: Serialized | undefined): string {
  const id = (s as { id?: string[] } | undefined)?.id;
  return (s as { name?: string } | undefined)?.name ?? id?.[id.length - 1] ?? 'unknown';
}

/** A message as `{role, content}` (+ tool calls), the shape auditors read. */
function messageOf(m: BaseMessage): Content {
  const out: Content = { role: m.type, content: toJsonSafe(m.content) };
  const calls = (m as { tool_calls?: Array<{ id?: string; name: string; args: unknown }> }).tool_calls;
  if (calls !== undefined && calls.length > 0)
    out.toolCalls = calls.map((t) => ({ id: t.id ?? null, name: t.name, args: toJsonSafe(t.args) }));
  const toolCallId = (m as { tool_call_id?: string }).tool_call_id;
  if (toolCallId !== undefined) out.toolCallId = toolCallId;
  return out;
}

function isMessage(v: unknown): v is BaseMessage {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { type?: unknown }).type === 'string' &&
    'content' in v &&
    'lc_kwargs' in v
  );
}

/** Chain inputs and outputs: messages as `{role, content}`, the rest JSON-safe. */
function normalize(v: unknown): unknown {
  if (isMessage(v)) return messageOf(v);
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  if (typeof v === 'object' && v !== null && 'pageContent' in v)
    return {
      pageContent: (v as DocumentInterface).pageContent,
      metadata: toJsonSafe((v as DocumentInterface).metadata),
    };
  return toJsonSafe(v);
}

/** A tool's output: a ToolMessage's content, or the value. */
function toolOutput(output: unknown): unknown {
  return isMessage(output) ? toJsonSafe(output.content) : toJsonSafe(output);
}

function parseMaybeJson(text: string): unknown {
  if (typeof text !== 'string') return toJsonSafe(text);
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null ? v : text;
  } catch {
    return text;
  }
}

function usageOf(
  meta: Record<string, number> | undefined,
  llmOutput: Record<string, unknown> | undefined,
): Usage | undefined {
  if (meta !== undefined && typeof meta.input_tokens === 'number')
    return {
      inputTokens: meta.input_tokens,
      outputTokens: meta.output_tokens ?? 0,
      totalTokens: meta.total_tokens ?? meta.input_tokens + (meta.output_tokens ?? 0),
    };
  const t = llmOutput?.tokenUsage as
    | { promptTokens?: number; completionTokens?: number; totalTokens?: number }
    | undefined;
  if (t === undefined) return undefined;
  const out: Usage = {};
  if (typeof t.promptTokens === 'number') out.inputTokens = t.promptTokens;
  if (typeof t.completionTokens === 'number') out.outputTokens = t.completionTokens;
  if (typeof t.totalTokens === 'number') out.totalTokens = t.totalTokens;
  return Object.keys(out).length === 0 ? undefined : out;
}
