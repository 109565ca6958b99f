/**
 * The typed helpers of `audit`: each turns a short, named description of what happened into an
 * event of the catalogue. Pure builders (no I/O), so each mapping is tested on its own.
 */
import { AuditError } from '../errors.js';
import type {
  AuditEventInput,
  Content,
  EventType,
  GuardrailDecision,
  Meta,
  Outcome,
  Resource,
  Usage,
} from '../event/index.js';

/** The event fields every helper also takes, as in `emit` (minus `type`). */
export type EventFields = Omit<AuditEventInput, 'type' | 'model'>;

/** A model call whose answer is known (`audit.modelCall`). */
export interface ModelCallInput extends EventFields {
  /** `openai`, `anthropic`, ... (OpenTelemetry `gen_ai.provider.name`). */
  provider?: string;
  /** The model name (`gen_ai.request.model`). */
  model?: string;
  prompt?: unknown;
  response?: unknown;
  /** `stop`, `length`, `tool-calls`, ... */
  finishReason?: string;
  /** Tool calls the model asked for, as the SDK gave them. */
  toolCalls?: unknown;
  /** The failure, when the call failed (recorded as `{name, message}`; outcome `error`). */
  error?: unknown;
}

/** A model request whose answer comes later (`audit.modelRequest`). */
export type ModelRequestInput = Omit<
  ModelCallInput,
  'response' | 'finishReason' | 'toolCalls' | 'error' | 'usage' | 'latencyMs'
>;

/** The answer to a {@link ModelRequestInput}. */
export interface ModelResponseInput {
  response?: unknown;
  usage?: Usage;
  finishReason?: string;
  toolCalls?: unknown;
  outcome?: Outcome;
  meta?: Meta;
  content?: Content;
}

/** A tool run (`audit.toolCall`). */
export interface ToolCallInput extends EventFields {
  /** The tool's name. */
  name: string;
  args?: unknown;
  result?: unknown;
  error?: unknown;
  /** The id the model gave the call. */
  toolCallId?: string;
}

/** A guardrail verdict (`audit.guardrail`). */
export interface GuardrailInput extends Omit<EventFields, 'guardrails'> {
  name: string;
  decision: GuardrailDecision;
  reason?: string;
  /** From 0 to 1. */
  confidence?: number;
  rule?: string;
  /** What was checked: `input`, `output`, `tool`, ... (recorded as `action`). */
  stage?: string;
}

/** What an authentication event is about. */
export type AuthEvent = 'login' | 'logout' | 'token_created' | 'token_revoked';

/** An authentication event (`audit.auth`). */
export interface AuthInput extends EventFields {
  /** Default `login`. */
  event?: AuthEvent;
  /** `success` (default) or `failure`; only `login` can fail. */
  outcome?: 'success' | 'failure';
  userId?: string;
  /** `password`, `oidc`, `api_key`, ... */
  method?: string;
  /** Why it failed (never the credential). */
  reason?: string;
}

/** What was done to data. */
export type DataAction = 'read' | 'modify' | 'delete' | 'export';

/** Access to data (`audit.dataAccess`). */
export interface DataAccessInput extends Omit<EventFields, 'resource' | 'action'> {
  resource: Resource;
  /** Default `read`. */
  action?: DataAction;
  /** How many records. */
  records?: number;
}

/** Administrative actions of the catalogue. */
export type AdminAction =
  | 'config_changed'
  | 'user_created'
  | 'user_modified'
  | 'user_deleted'
  | 'role_changed'
  | 'key_rotated'
  | 'retention_applied';

/** An administrative action (`audit.admin`). */
export interface AdminInput extends Omit<EventFields, 'action'> {
  action: AdminAction;
}

const AUTH_TYPES: Readonly<Record<AuthEvent, EventType>> = {
  login: 'auth.success',
  logout: 'auth.logout',
  token_created: 'auth.token_created',
  token_revoked: 'auth.token_revoked',
};
const DATA_TYPES: Readonly<Record<DataAction, EventType>> = {
  read: 'data.access',
  modify: 'data.modified',
  delete: 'data.deleted',
  export: 'data.export',
};
const ADMIN_ACTIONS: ReadonlySet<string> = new Set([
  'config_changed',
  'user_created',
  'user_modified',
  'user_deleted',
  'role_changed',
  'key_rotated',
  'retention_applied',
]);
const GUARDRAIL_OUTCOMES: Readonly<Record<GuardrailDecision, Outcome>> = {
  block: 'blocked',
  allow: 'allowed',
  warn: 'warned',
  redact: 'allowed',
};

/**
 * An error as plain data: `{name, message}` and, when present, a string or number `code` and
 * `status`. Never the stack (it names files, not what happened).
 */
export function describeError(error: unknown): { [k: string]: string | number } {
  if (error instanceof Error) {
    // SDK error classes often keep the inherited name 'Error': their class name says more.
    const name = error.name === 'Error' && error.constructor?.name ? error.constructor.name : error.name;
    const out: { [k: string]: string | number } = { name, message: error.message };
    const { code, status, statusCode } = error as { code?: unknown; status?: unknown; statusCode?: unknown };
    if (typeof code === 'string' || typeof code === 'number') out.code = code;
    // `statusCode`: the AI SDK's APICallError
    if (typeof status === 'number') out.status = status;
    else if (typeof statusCode === 'number') out.status = statusCode;
    return out;
  }
  return { name: 'Error', message: typeof error === 'string' ? error : String(error) };
}

/** `audit.modelCall`: a `model.completion` entry. */
export function buildModelCall(input: ModelCallInput): AuditEventInput {
  const { provider, model, prompt, response, finishReason, toolCalls, error, ...fields } = object(
    input,
    'modelCall',
  );
  const event: AuditEventInput = { ...fields, type: 'model.completion' };
  const m = modelOf(provider, model);
  if (m !== undefined) event.model = m;
  const content = mergeContent(fields.content, { prompt, response, toolCalls, error: errorOf(error) });
  if (content !== undefined) event.content = content;
  event.outcome = fields.outcome ?? (error !== undefined ? 'error' : 'success');
  const meta = mergeMeta(fields.meta, { finishReason });
  if (meta !== undefined) event.meta = meta;
  return event;
}

/** `audit.modelRequest`: the `model.request` entry of a pair. */
export function buildModelRequest(input: ModelRequestInput, callId: string): AuditEventInput {
  const { provider, model, prompt, ...fields } = object(input, 'modelRequest');
  const event: AuditEventInput = { ...fields, type: 'model.request' };
  const m = modelOf(provider, model);
  if (m !== undefined) event.model = m;
  const content = mergeContent(fields.content, { prompt });
  if (content !== undefined) event.content = content;
  event.meta = { ...fields.meta, callId };
  return event;
}

/**
 * The `model.completion` entry answering a request: same actor, conversation, request, trace and
 * model; `meta.callId` shared with the request and `meta.requestEntry` its entry id.
 */
export function buildModelResponse(
  request: AuditEventInput,
  answer: ModelResponseInput | undefined,
  error: unknown,
  link: { callId: string; requestEntry: string; latencyMs: number },
): AuditEventInput {
  const a = answer === undefined ? {} : object(answer, 'respond');
  const event: AuditEventInput = { type: 'model.completion', latencyMs: link.latencyMs };
  for (const key of [
    'ts',
    'actor',
    'subject',
    'conversation',
    'requestId',
    'traceId',
    'resource',
    'model',
  ] as const) {
    if (request[key] !== undefined) (event as unknown as Record<string, unknown>)[key] = request[key];
  }
  if (a.usage !== undefined) event.usage = a.usage;
  event.ts = new Date();
  const content = mergeContent(a.content, {
    response: a.response,
    toolCalls: a.toolCalls,
    error: errorOf(error),
  });
  if (content !== undefined) event.content = content;
  event.outcome = a.outcome ?? (error !== undefined ? 'error' : 'success');
  const meta: Meta = { ...a.meta, callId: link.callId };
  if (link.requestEntry !== '') meta.requestEntry = link.requestEntry;
  if (a.finishReason !== undefined) meta.finishReason = a.finishReason;
  event.meta = meta;
  return event;
}

/**
 * `audit.toolCall`: a `tool.result` entry (the tool ran: its result or error is given) or a
 * `tool.call` entry (only the arguments the model asked with), the tool as `resource`.
 */
export function buildToolCall(input: ToolCallInput): AuditEventInput {
  const { name, args, result, error, toolCallId, ...fields } = object(input, 'toolCall');
  requireString(name, 'name');
  const event: AuditEventInput = {
    ...fields,
    type: result !== undefined || error !== undefined ? 'tool.result' : 'tool.call',
    resource: fields.resource ?? { type: 'tool', id: name },
    action: fields.action ?? (result !== undefined || error !== undefined ? 'execute' : 'request'),
  };
  const content = mergeContent(fields.content, { toolArgs: args, toolResult: result, error: errorOf(error) });
  if (content !== undefined) event.content = content;
  event.outcome = fields.outcome ?? (error !== undefined ? 'error' : 'success');
  const meta = mergeMeta(fields.meta, { toolCallId });
  if (meta !== undefined) event.meta = meta;
  return event;
}

/** `audit.guardrail`: a `guardrail.decision` entry; the outcome follows the decision. */
export function buildGuardrail(input: GuardrailInput): AuditEventInput {
  const { name, decision, reason, confidence, rule, stage, ...fields } = object(input, 'guardrail');
  requireString(name, 'name');
  if (!Object.hasOwn(GUARDRAIL_OUTCOMES, decision))
    throw new AuditError('EVENT_INVALID', 'decision: expected block, allow, warn or redact', {
      field: 'decision',
    });
  const result: NonNullable<AuditEventInput['guardrails']>[number] = { name, decision };
  if (reason !== undefined) result.reason = reason;
  if (confidence !== undefined) result.confidence = confidence;
  if (rule !== undefined) result.rule = rule;
  const event: AuditEventInput = {
    ...fields,
    type: 'guardrail.decision',
    guardrails: [result],
    outcome: fields.outcome ?? GUARDRAIL_OUTCOMES[decision],
  };
  if (stage !== undefined) event.action = stage;
  if (decision === 'block' && fields.severity === undefined) event.severity = 'notice';
  return event;
}

/** `audit.auth`: `auth.success`, `auth.failure`, `auth.logout`, `auth.token_created` or `auth.token_revoked`. */
export function buildAuth(input: AuthInput): AuditEventInput {
  const {
    event: what = 'login',
    outcome = 'success',
    userId,
    method,
    reason,
    ...fields
  } = object(input, 'auth');
  if (!Object.hasOwn(AUTH_TYPES, what))
    throw new AuditError('EVENT_INVALID', 'event: expected login, logout, token_created or token_revoked', {
      field: 'event',
    });
  if (outcome !== 'success' && outcome !== 'failure')
    throw new AuditError('EVENT_INVALID', 'outcome: expected success or failure', { field: 'outcome' });
  if (outcome === 'failure' && what !== 'login')
    throw new AuditError('EVENT_INVALID', `outcome: only a login can fail, not ${what}`, {
      field: 'outcome',
    });
  const actor = { ...fields.actor };
  if (userId !== undefined) actor.id = userId;
  if (method !== undefined) actor.authMethod = method;
  const event: AuditEventInput = {
    ...fields,
    type: outcome === 'failure' ? 'auth.failure' : AUTH_TYPES[what],
    outcome,
  };
  if (Object.keys(actor).length > 0) event.actor = actor;
  const meta = mergeMeta(fields.meta, { reason });
  if (meta !== undefined) event.meta = meta;
  return event;
}

/** `audit.dataAccess`: `data.access`, `data.modified`, `data.deleted` or `data.export`. */
export function buildDataAccess(input: DataAccessInput): AuditEventInput {
  const { action = 'read', records, ...fields } = object(input, 'dataAccess');
  if (!Object.hasOwn(DATA_TYPES, action))
    throw new AuditError('EVENT_INVALID', 'action: expected read, modify, delete or export', {
      field: 'action',
    });
  if (fields.resource === undefined)
    throw new AuditError('EVENT_INVALID', 'resource: expected {type, id}', { field: 'resource' });
  const event: AuditEventInput = {
    ...fields,
    type: DATA_TYPES[action],
    action,
    outcome: fields.outcome ?? 'success',
  };
  const meta = mergeMeta(fields.meta, { records });
  if (meta !== undefined) event.meta = meta;
  return event;
}

/** `audit.admin`: `admin.<action>`. */
export function buildAdmin(input: AdminInput): AuditEventInput {
  const { action, ...fields } = object(input, 'admin');
  if (typeof action !== 'string' || !ADMIN_ACTIONS.has(action))
    throw new AuditError('EVENT_INVALID', `action: expected one of ${[...ADMIN_ACTIONS].join(', ')}`, {
      field: 'action',
    });
  return { ...fields, type: `admin.${action}` as EventType, action, outcome: fields.outcome ?? 'success' };
}

function object<T>(input: T, what: string): T {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new AuditError('EVENT_INVALID', `${what}: expected an object`, { field: what });
  return input;
}

function requireString(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '')
    throw new AuditError('EVENT_INVALID', `${field}: expected a non-empty string`, { field });
}

function modelOf(provider: string | undefined, name: string | undefined): AuditEventInput['model'] {
  if (provider === undefined && name === undefined) return undefined;
  const m: NonNullable<AuditEventInput['model']> = {};
  if (provider !== undefined) m.provider = provider;
  if (name !== undefined) m.name = name;
  return m;
}

function errorOf(error: unknown): unknown {
  return error === undefined ? undefined : describeError(error);
}

function mergeContent(base: Content | undefined, extra: Record<string, unknown>): Content | undefined {
  const out: Content = { ...base };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length === 0 ? undefined : out;
}

function mergeMeta(
  base: Meta | undefined,
  extra: Record<string, string | number | undefined>,
): Meta | undefined {
  const out: Meta = { ...base };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length === 0 ? undefined : out;
}
