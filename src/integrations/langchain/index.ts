/**
 * `sealtrail/langchain`: a LangChain.js (`@langchain/core` 1) callback handler that records chat
 * model and LLM calls (a `model.request` entry with the prompt when the run starts, before the
 * model is called, unless `recordRequests` is false; a `model.completion` entry when it ends, with
 * the finish reason its provider package reports and `meta.requestEntry` the request's id), tool
 * runs (`tool.result`), retrievals (`rag.query`) and chain runs (`agent.step`), each with
 * `meta.runId` and `meta.parentRunId` so the tree of a run can be rebuilt. `awaitHandlers` is on
 * and cannot be turned off: LangChain waits for each record, so nothing is lost when the process
 * ends right after a run, and the request context stays the caller's.
 *
 * A run whose end LangChain never reports (a stream its consumer stops reading: LangChain calls
 * neither end nor error then) is recorded as its kind's event with `meta.incomplete` and what it
 * streamed so far, once it is older than `maxRunMs` or more than `maxOpenRuns` runs are open; both
 * are checked when a run starts, so the handler holds a bounded number of runs. Should such a run
 * end after all, its end is recorded too, with `meta.afterIncomplete`.
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
import { AuditError } from '../../errors.js';
import { inexactNumberPath } from '../../event/exact-json.js';
import type { AuditEventInput, Content, Meta, Usage } from '../../event/index.js';
import { toJsonSafe } from '../json-safe.js';
import { emitRequest, emitTo, type IntegrationOptions } from '../sink.js';

/** Options of {@link SealtrailCallbackHandler}. */
export interface LangChainAuditOptions extends IntegrationOptions {
  /** Record chain runs as `agent.step` entries (default true). */
  chains?: boolean;
  /** Runs open at most at once; past it the oldest is recorded as incomplete (default 10,000). */
  maxOpenRuns?: number;
  /** A run still open after this long is recorded as incomplete (default one hour). */
  maxRunMs?: number;
}

type RunKind = 'model' | 'tool' | 'retriever' | 'chain';
const EVENT_OF = {
  model: 'model.completion',
  tool: 'tool.result',
  retriever: 'rag.query',
  chain: 'agent.step',
} as const;

/** How a run ended: with its output, with an error, or never reported (recorded as incomplete). */
type Ending = { output: unknown } | { error: unknown } | { incomplete: true };

interface Run {
  kind: RunKind;
  start: number;
  name: string;
  parentRunId: string | undefined;
  input: unknown;
  provider?: string;
  model?: string;
  toolCallId?: string;
  /** Tokens streamed so far (a model run). */
  streamed?: string;
  /** A model run's `meta.requestEntry`: the id of its `model.request` entry. */
  link?: Meta;
}

/** An event of a run being built: its meta and content are there to fill. */
type RunEvent = AuditEventInput & { meta: Meta; content: Content };

/** The callback handler. One instance can serve many runs at once. */
export class SealtrailCallbackHandler extends BaseCallbackHandler {
  name = 'sealtrail';
  readonly #options: LangChainAuditOptions;
  readonly #runs = new Map<string, Run>();
  /**
   * Runs recorded as incomplete, without their input (their entry holds it), as many as
   * `maxOpenRuns`: when one ends after all, its end is recorded as that run's.
   */
  readonly #incomplete = new Map<string, Run>();

  /** @throws AuditError CONFIG_INVALID naming `maxOpenRuns` or `maxRunMs`. */
  constructor(options: LangChainAuditOptions = {}) {
    super();
    // Either unchecked (0, NaN) would record every open run, a chain's own included, as incomplete.
    const { maxOpenRuns, maxRunMs } = options;
    if (maxOpenRuns !== undefined && (!Number.isSafeInteger(maxOpenRuns) || maxOpenRuns < 1))
      throw new AuditError('CONFIG_INVALID', 'maxOpenRuns: expected a positive integer', {
        field: 'maxOpenRuns',
      });
    if (maxRunMs !== undefined && !(typeof maxRunMs === 'number' && maxRunMs > 0))
      throw new AuditError('CONFIG_INVALID', 'maxRunMs: expected a positive number', { field: 'maxRunMs' });
    this.#options = options;
    if (options.chains === false) this.ignoreChain = true;
    // Always awaited. LangChain runs handlers that are not on one background queue, each started
    // from the end of the one before it, so in the async context of another caller: every entry
    // would carry the request context of whichever run first filled the queue (measured).
    Object.defineProperty(this, 'awaitHandlers', {
      enumerable: true,
      get: () => true,
      set: (value: unknown) => {
        if (value !== true)
          throw new AuditError(
            'USAGE',
            'awaitHandlers: the sealtrail handler is always awaited (in the background its entries would take another request context)',
            { field: 'awaitHandlers' },
          );
      },
    });
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

  override handleLLMNewToken(token: string, _idx: unknown, runId: string): void {
    const run = this.#runs.get(runId);
    if (run !== undefined) run.streamed = (run.streamed ?? '') + token;
  }

  override handleLLMEnd(output: LLMResult, runId: string, parentRunId?: string): void {
    this.#end('model', runId, parentRunId, { output });
  }

  override handleLLMError(err: Error, runId: string, parentRunId?: string): void {
    this.#end('model', runId, parentRunId, { error: err });
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
      kind: 'tool',
      start: performance.now(),
      name: runName ?? nameOf(tool),
      parentRunId,
      input: parseMaybeJson(input),
    };
    if (toolCallId !== undefined) run.toolCallId = toolCallId;
    this.#open(runId, run);
  }

  override handleToolEnd(output: unknown, runId: string, parentRunId?: string): void {
    this.#end('tool', runId, parentRunId, { output: output });
  }

  override handleToolError(err: Error, runId: string, parentRunId?: string): void {
    this.#end('tool', runId, parentRunId, { error: err });
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
    this.#open(runId, {
      kind: 'retriever',
      start: performance.now(),
      name: name ?? nameOf(retriever),
      parentRunId,
      input: query,
    });
  }

  override handleRetrieverEnd(documents: DocumentInterface[], runId: string, parentRunId?: string): void {
    this.#end('retriever', runId, parentRunId, { output: documents });
  }

  override handleRetrieverError(err: Error, runId: string, parentRunId?: string): void {
    this.#end('retriever', runId, parentRunId, { error: err });
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
    this.#open(runId, {
      kind: 'chain',
      start: performance.now(),
      name: runName ?? nameOf(chain),
      parentRunId,
      input: inputs,
    });
  }

  override handleChainEnd(outputs: Record<string, unknown>, runId: string, parentRunId?: string): void {
    this.#end('chain', runId, parentRunId, { output: outputs });
  }

  override handleChainError(err: Error, runId: string, parentRunId?: string): void {
    this.#end('chain', runId, parentRunId, { error: err });
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
    const run: Run = {
      kind: 'model',
      start: performance.now(),
      name: runName ?? nameOf(llm),
      parentRunId,
      input: prompt,
    };
    const provider = metadata?.ls_provider;
    const model = metadata?.ls_model_name ?? invocation.model ?? invocation.model_name;
    if (typeof provider === 'string') run.provider = provider;
    if (typeof model === 'string') run.model = model;
    this.#open(runId, run);
    // LangChain calls the model once its handlers are done (awaitHandlers): this is before it
    run.link = emitRequest(this.#options, () => finish(this.#modelEvent('model.request', run, runId)));
  }

  /** Keeps `run` until its end; first records the runs that are too old or too many as incomplete. */
  #open(runId: string, run: Run): void {
    const maxRuns = this.#options.maxOpenRuns ?? 10_000;
    const oldest = run.start - (this.#options.maxRunMs ?? 3_600_000);
    // Runs are kept in the order they started, so the ones to record are at the front.
    for (const [id, open] of this.#runs) {
      if (this.#runs.size < maxRuns && open.start >= oldest) break;
      this.#runs.delete(id);
      this.#record(open, id, { incomplete: true });
      open.input = undefined;
      delete open.streamed;
      this.#incomplete.set(id, open);
      if (this.#incomplete.size > maxRuns) this.#incomplete.delete(this.#incomplete.keys().next().value!);
    }
    this.#runs.set(runId, run);
  }

  /** Records the end of a run started earlier, or of a stand-in when its start was not seen. */
  #end(kind: RunKind, runId: string, parentRunId: string | undefined, ending: Ending): void {
    const late = this.#incomplete.get(runId);
    const run = this.#runs.get(runId) ??
      late ?? {
        kind,
        start: performance.now(),
        name: 'unknown',
        parentRunId,
        input: undefined,
      };
    this.#runs.delete(runId);
    this.#incomplete.delete(runId);
    this.#record(run, runId, ending, late !== undefined);
  }

  /** The fields every entry of a run has: the run's id, its parent's and its name. */
  #runEvent(type: AuditEventInput['type'], run: Run, runId: string): RunEvent {
    const meta: Meta = { framework: 'langchain', runId, run: run.name };
    if (run.parentRunId !== undefined) meta.parentRunId = run.parentRunId;
    return { type, meta, content: {} };
  }

  /** What a model run's request and completion share: the run's fields, the model, the prompt. */
  #modelEvent(type: 'model.request' | 'model.completion', run: Run, runId: string): RunEvent {
    const ev = this.#runEvent(type, run, runId);
    const model: NonNullable<AuditEventInput['model']> = { name: run.model ?? run.name };
    if (run.provider !== undefined) model.provider = run.provider;
    ev.model = model;
    if (this.#content) ev.content.prompt = toJsonSafe(run.input);
    return ev;
  }

  /** The event of a run's kind. */
  #record(run: Run, runId: string, ending: Ending, afterIncomplete = false): void {
    const ev =
      run.kind === 'model'
        ? this.#modelEvent('model.completion', run, runId)
        : this.#runEvent(EVENT_OF[run.kind], run, runId);
    // the run's entry recorded as incomplete holds its input
    if (afterIncomplete) ev.meta.afterIncomplete = true;
    ev.latencyMs = Math.round((performance.now() - run.start) * 1000) / 1000;
    if ('error' in ending) ev.content.error = describeError(ending.error);
    if ('incomplete' in ending) ev.meta.incomplete = true;
    else ev.outcome = 'error' in ending ? 'error' : 'success';
    const output = 'output' in ending ? ending.output : undefined;
    if (run.kind === 'model') this.#model(ev, run, output as LLMResult | undefined);
    else if (run.kind === 'tool') this.#tool(ev, run, ending);
    else if (run.kind === 'retriever') this.#retriever(ev, run, output as DocumentInterface[] | undefined);
    else this.#chain(ev, run, ending);
    emitTo(this.#options.audit, finish(ev));
  }

  #model(ev: RunEvent, run: Run, output: LLMResult | undefined): void {
    Object.assign(ev.meta, run.link);
    if (this.#content && output === undefined && run.streamed !== undefined)
      ev.content.response = run.streamed;
    if (output === undefined) return;
    const first = output.generations[0]?.[0] as
      | { text?: string; message?: BaseMessage; generationInfo?: Record<string, unknown> }
      | undefined;
    const message = first?.message as
      | (BaseMessage & { tool_calls?: unknown[]; usage_metadata?: Record<string, number> })
      | undefined;
    const usage = usageOf(message?.usage_metadata, output.llmOutput);
    if (usage !== undefined) ev.usage = usage;
    const finishReason = finishReasonOf(first, message);
    if (finishReason !== undefined) ev.meta.finishReason = finishReason;
    const responseModel = message?.response_metadata?.model_name ?? message?.response_metadata?.model;
    if (typeof responseModel === 'string') ev.meta.responseModel = responseModel;
    const toolCalls = (message?.tool_calls ?? []) as Array<{ id?: string; name: string; args: unknown }>;
    if (toolCalls.length > 0) ev.meta.toolCalls = toolCalls.length;
    if (this.#content) {
      ev.content.response = message !== undefined ? toJsonSafe(message.content) : (first?.text ?? '');
      if (toolCalls.length > 0)
        ev.content.toolCalls = toolCalls.map((t) => ({
          id: t.id ?? null,
          name: t.name,
          args: toJsonSafe(t.args),
        }));
    }
  }

  #tool(ev: AuditEventInput, run: Run, ending: Ending): void {
    ev.resource = { type: 'tool', id: run.name };
    ev.action = 'execute';
    if (run.toolCallId !== undefined) ev.meta!.toolCallId = run.toolCallId;
    if (this.#content) {
      ev.content!.toolArgs = toJsonSafe(run.input);
      if ('output' in ending) ev.content!.toolResult = toolOutput(ending.output);
    }
  }

  #retriever(ev: AuditEventInput, run: Run, documents: DocumentInterface[] | undefined): void {
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
  }

  #chain(ev: AuditEventInput, run: Run, ending: Ending): void {
    ev.resource = { type: 'chain', id: run.name };
    ev.action = 'chain';
    if (this.#content) {
      ev.content!.inputs = normalize(run.input);
      if ('output' in ending) ev.content!.outputs = normalize(ending.output);
    }
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
    // the text itself when JSON.parse would round a number in it: kept exactly
    return typeof v === 'object' && v !== null && inexactNumberPath(v) === undefined ? v : text;
  } catch {
    return text;
  }
}

/**
 * Why the model stopped, as its provider package reports it: `finish_reason` (OpenAI, also in
 * `generationInfo`), `stop_reason` (Anthropic), `finishReason` (Google), `stopReason` (Bedrock).
 */
function finishReasonOf(
  generation: { generationInfo?: Record<string, unknown> } | undefined,
  message: BaseMessage | undefined,
): string | undefined {
  for (const source of [generation?.generationInfo, message?.response_metadata])
    for (const key of ['finish_reason', 'stop_reason', 'finishReason', 'stopReason'])
      if (typeof source?.[key] === 'string') return source[key];
  return undefined;
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
