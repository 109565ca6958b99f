/**
 * `audit`: the zero-config singleton. `audit.enable()` detects the environment, reads the
 * `SEALTRAIL_*` variables, opens one trail per destination and from then on fills every event
 * from the request context, redacts it, and writes it to each trail. Typed helpers describe the
 * common AI and security events; `modelRequest` pairs a request with its later answer.
 *
 * Events emitted while the trails are still opening (the first milliseconds) are held and
 * written once they are open; the trails flush on normal exit, `process.exit()`, SIGINT and
 * SIGTERM, so a process that emits and ends without closing loses nothing.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { reportDiagnostic } from '../diagnostics.js';
import { AuditError, isAuditError } from '../errors.js';
import {
  type AuditEventInput,
  prepareEvent,
  readInputOnce,
  redactReadOnce,
  refuseTrailOwnType,
} from '../event/index.js';
import {
  applyRequestContext,
  type RequestContext,
  updateRequestContext,
} from '../integrations/context/index.js';
import { type KeyProvider, keyDirProviders, openKeyRing, trailKeyPaths } from '../keys/index.js';
import { createRedactor, type Redactor } from '../protect/index.js';
import { RemoteSink } from '../remote/remote-sink.js';
import { defaultOrigin, readTrailMeta, trailLayout } from '../store/index.js';
import { AuditTrail, type AuditTrailOptions, MemoryTrailStore } from '../writer/index.js';
import type { Environment } from './environment.js';
import {
  type AdminInput,
  type AuthInput,
  buildAdmin,
  buildAuth,
  buildDataAccess,
  buildGuardrail,
  buildModelCall,
  buildModelRequest,
  buildModelResponse,
  buildToolCall,
  type DataAccessInput,
  type GuardrailInput,
  type ModelCallInput,
  type ModelRequestInput,
  type ModelResponseInput,
  type ToolCallInput,
} from './helpers.js';
import { formatPretty } from './pretty.js';
import {
  type Destination,
  type EnableOptions,
  type FailurePolicy,
  type ResolvedConfig,
  resolveConfig,
} from './resolve.js';

/** Events held while the trails open; beyond this the failure policy applies. */
const MAX_HELD = 100_000;

/**
 * A held event as it is when `emit()` returns, checked as `emit()` checks it once the trail is
 * open: the caller may change its object (or reuse it for the next event) before the trail opens,
 * and one bad event found only then would reject `ready` and lose the held events after it.
 * Checked before it is copied, so that what JSON text cannot carry (a Date in content, a `toJSON`
 * method) is refused, not converted; the copy is checked again, as a getter may answer anew.
 * @throws AuditError EVENT_INVALID naming the field.
 */
function snapshotEvent(event: AuditEventInput): AuditEventInput {
  prepareEvent(event);
  const ts = event.ts instanceof Date ? event.ts.getTime() : event.ts;
  const copy = JSON.parse(JSON.stringify({ ...event, ts })) as AuditEventInput;
  refuseTrailOwnType(prepareEvent(copy).type);
  return copy;
}

/** Where `audit` stands. */
export type AuditState = 'off' | 'opening' | 'on' | 'failed';

/** What `audit.status()` reports. */
export interface AuditStatus {
  state: AuditState;
  environment: Environment | undefined;
  /** Why the environment was chosen. */
  reason: string | undefined;
  container: boolean;
  /** `dir:/path`, `stdout`, `memory`, `pretty`, `trail`. */
  destinations: string[];
  /** The content mode handed to each trail (`plain`, `hash`, `encrypt`). */
  content: string | undefined;
  redactPii: boolean;
  failure: FailurePolicy | undefined;
  keysConfigured: boolean;
  /** True when `SEALTRAIL_ENABLED` switched the trail off. */
  disabledByEnv: boolean;
}

/** A model request waiting for its answer (`audit.modelRequest`). */
export interface ModelCallHandle {
  /** Entry id of the `model.request` entry ('' while the trail was still opening). */
  readonly id: string;
  /** Shared by both entries as `meta.callId`. */
  readonly callId: string;
  /**
   * Records the answer as a `model.completion` entry (latency measured from the request).
   * @throws AuditError USAGE when the call was already answered.
   */
  respond(answer?: ModelResponseInput): string;
  /**
   * Records the failure as a `model.completion` entry with outcome `error`.
   * @throws AuditError USAGE when the call was already answered.
   */
  fail(error: unknown, answer?: ModelResponseInput): string;
}

/** The zero-config audit trail. Use the `audit` singleton. */
export class Audit {
  #state: AuditState = 'off';
  #config: ResolvedConfig | undefined;
  #trails: AuditTrail[] = [];
  #owned: AuditTrail[] = [];
  /** Collector destinations: events are validated and redacted here, then spooled. */
  #remotes: RemoteSink[] = [];
  #destinations: Destination[] = [];
  #held: AuditEventInput[] = [];
  #pretty = false;
  #redactor: Redactor | undefined;
  #ready: Promise<void> = Promise.resolve();
  #openError: unknown;
  #generation = 0;

  /**
   * Switches the audit trail on. Synchronous checks first (a bad option or variable throws now);
   * the trails then open in the background and the promise resolves when they are open. With
   * `failure: 'block'` (default) it rejects when a trail cannot be opened — left unawaited, that
   * stops the process, which is the point of failing closed.
   * @throws AuditError CONFIG_INVALID naming the option or variable; KEY_INVALID; USAGE when already enabled.
   */
  enable(options: EnableOptions = {}): Promise<void> {
    if (this.#state !== 'off')
      throw new AuditError('USAGE', 'enable: audit is already enabled (call disable() first)');
    const env = options.env ?? process.env;
    const config = resolveConfig(options, {
      env,
      isTTY: process.stdout.isTTY === true,
      exists: (p) => fs.existsSync(p),
    });
    for (const note of config.notes) reportDiagnostic({ kind: 'config', message: note });
    this.#config = config;
    if (!config.enabled) return Promise.resolve();
    this.#redactor = !config.redactPii
      ? undefined
      : typeof config.redactor === 'function'
        ? config.redactor
        : createRedactor(config.redactor ?? {});
    this.#destinations = config.destinations;
    this.#pretty = config.destinations.some((d) => d.kind === 'pretty');
    this.#state = 'opening';
    this.#openError = undefined;
    const generation = ++this.#generation;
    this.#ready = this.#open(config, env, generation);
    if (config.failure === 'continue') this.#ready = this.#ready.catch(() => undefined);
    return this.#ready;
  }

  /**
   * Switches the audit trail off: flushes and closes the trails it opened.
   * @throws AuditError USAGE in production unless `allowDisable` (or `SEALTRAIL_ALLOW_DISABLE=1`) was set.
   */
  disable(): Promise<void> {
    const config = this.#config;
    if (this.#state === 'off') return Promise.resolve();
    if (config?.detected.environment === 'production' && !config.allowDisable)
      throw new AuditError(
        'USAGE',
        'disable: the audit trail cannot be disabled in production (enable it with allowDisable: true, or set SEALTRAIL_ALLOW_DISABLE=1)',
        { environment: 'production' },
      );
    this.#generation++;
    const ready = this.#ready;
    const owned = this.#owned;
    const remotes = this.#remotes;
    this.#reset();
    return (async () => {
      await ready.catch(() => undefined);
      await Promise.all([...owned.map((t) => t.close()), ...remotes.map((r) => r.close())]);
    })();
  }

  /** Resolves when the trails are open (rejects like `enable()`'s promise). */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** The trails written to, in destination order (for reading back in tests and tools). */
  get trails(): readonly AuditTrail[] {
    return this.#trails;
  }

  /** The memory stores of `memory` destinations, in destination order. */
  get memoryStores(): readonly MemoryTrailStore[] {
    return this.#destinations.flatMap((d) => (d.kind === 'memory' && d.store !== undefined ? [d.store] : []));
  }

  /** What is configured and where it came from. */
  status(): AuditStatus {
    const c = this.#config;
    return {
      state: this.#state,
      environment: c?.detected.environment,
      reason: c?.detected.reason,
      container: c?.detected.container ?? false,
      destinations: this.#destinations.map((d) => (d.kind === 'dir' ? `dir:${d.dir}` : d.kind)),
      content: c?.content,
      redactPii: this.#state !== 'off' && this.#redactor !== undefined,
      failure: c?.failure,
      keysConfigured: c?.keys !== undefined,
      disabledByEnv: c !== undefined && !c.enabled,
    };
  }

  /**
   * Records an event: fills it from the request context, redacts it, and writes it to every
   * trail. Returns the entry id in the first trail ('' while the trails are opening or when the
   * audit trail is off).
   * @throws AuditError EVENT_INVALID (naming the field), BUFFER_FULL — only with `failure: 'block'`.
   */
  emit(event: AuditEventInput): string {
    switch (this.#state) {
      case 'off':
        reportDiagnostic({
          kind: 'not-enabled',
          message: 'an event was emitted before audit.enable(): it is not recorded',
        });
        return '';
      case 'failed':
        return this.#failOrReport(this.#openError);
      case 'opening': {
        const prepared = this.#prepare(event);
        if (prepared === undefined) return '';
        if (this.#held.length >= MAX_HELD)
          return this.#failOrReport(
            new AuditError('BUFFER_FULL', `queue full: ${MAX_HELD} events are waiting for the trail to open`),
          );
        let held: AuditEventInput;
        try {
          held = snapshotEvent(prepared);
        } catch (err) {
          return this.#failOrReport(err);
        }
        // The event happened now, not when the trail finishes opening (a key file's scrypt, Vault):
        // without this a held event got the time it was written, after later events it preceded.
        if (held.ts === undefined) held.ts = Date.now();
        this.#held.push(held);
        return '';
      }
      case 'on': {
        const prepared = this.#prepare(event);
        return prepared === undefined ? '' : this.#write(prepared);
      }
    }
  }

  /** Records an event and resolves once it is durable in every trail. */
  async emitDurable(event: AuditEventInput): Promise<string> {
    if (this.#state === 'opening') await this.#ready.catch(() => undefined);
    const id = this.emit(event);
    await this.flush();
    return id;
  }

  /** Resolves when everything emitted before is durable in every trail. */
  async flush(): Promise<void> {
    await this.#ready.catch(() => undefined);
    await Promise.all([...this.#trails.map((t) => t.flush()), ...this.#remotes.map((r) => r.flush())]);
  }

  /** Adds the authenticated user (or anything else known later) to the current request context. */
  setUser(user: { id: string; type?: string; sessionId?: string; authMethod?: string }): void {
    const patch: RequestContext = { userId: user.id };
    if (user.type !== undefined) patch.userType = user.type;
    if (user.sessionId !== undefined) patch.sessionId = user.sessionId;
    if (user.authMethod !== undefined) patch.authMethod = user.authMethod;
    updateRequestContext(patch);
  }

  /** A model call whose answer is known: a `model.completion` entry. */
  modelCall(input: ModelCallInput): string {
    return this.#helper(() => buildModelCall(input));
  }

  /**
   * A model request whose answer comes later: a `model.request` entry now, and a linked
   * `model.completion` entry (same `meta.callId`, `meta.requestEntry` = the request's entry id,
   * latency measured) when you call `respond()` or `fail()`.
   */
  modelRequest(input: ModelRequestInput): ModelCallHandle {
    const callId = randomUUID();
    const request = applyRequestContext(buildModelRequest(input, callId));
    const start = performance.now();
    const id = this.emit(request);
    let answered = false;
    const finish = (answer: ModelResponseInput | undefined, error: unknown, failed: boolean): string => {
      if (answered) throw new AuditError('USAGE', `model call ${callId}: already answered`);
      answered = true;
      const latencyMs = Math.round((performance.now() - start) * 1000) / 1000;
      return this.emit(
        buildModelResponse(request, answer, failed ? (error ?? new Error('failed')) : undefined, {
          callId,
          requestEntry: id,
          latencyMs,
        }),
      );
    };
    return {
      id,
      callId,
      respond: (answer) => finish(answer, undefined, false),
      fail: (error, answer) => finish(answer, error, true),
    };
  }

  /** A tool run: a `tool.call` entry with the tool as `resource`, its arguments and result. */
  toolCall(input: ToolCallInput): string {
    return this.#helper(() => buildToolCall(input));
  }

  /** A guardrail verdict: a `guardrail.decision` entry linked to the request and conversation. */
  guardrail(input: GuardrailInput): string {
    return this.#helper(() => buildGuardrail(input));
  }

  /** An authentication event: `auth.success`, `auth.failure`, `auth.logout`, `auth.token_*`. */
  auth(input: AuthInput): string {
    return this.#helper(() => buildAuth(input));
  }

  /** Access to data: `data.access`, `data.modified`, `data.deleted` or `data.export`. */
  dataAccess(input: DataAccessInput): string {
    return this.#helper(() => buildDataAccess(input));
  }

  /** An administrative action: `admin.<action>`. */
  admin(input: AdminInput): string {
    return this.#helper(() => buildAdmin(input));
  }

  #helper(build: () => AuditEventInput): string {
    let event: AuditEventInput;
    try {
      event = build();
    } catch (err) {
      return this.#failOrReport(err);
    }
    return this.emit(event);
  }

  /** The request context merged in; undefined when a `continue` policy swallowed an error. */
  #prepare(event: AuditEventInput): AuditEventInput | undefined {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      this.#failOrReport(new AuditError('EVENT_INVALID', 'event: expected an object', { field: 'event' }));
      return undefined;
    }
    return applyRequestContext(event);
  }

  #write(input: AuditEventInput): string {
    let event = input;
    if (this.#trails.length + this.#remotes.length + (this.#pretty ? 1 : 0) > 1) {
      // Each destination reads the event: a getter must not show each a different one.
      try {
        event = readInputOnce(input) as AuditEventInput;
      } catch (err) {
        return this.#failOrReport(err);
      }
    }
    let id = '';
    for (const trail of this.#trails) {
      try {
        const got = trail.emit(event);
        if (id === '') id = got;
      } catch (err) {
        this.#failOrReport(err);
      }
    }
    // Personal data never leaves the process unredacted, to a collector or on the console. Read
    // once (event/prepare.ts): what is checked and spooled is what was scanned.
    let redacted: AuditEventInput | undefined;
    const leaving = () => {
      if (redacted === undefined)
        redacted =
          this.#redactor === undefined
            ? event
            : (redactReadOnce(this.#redactor, event).value as AuditEventInput);
      return redacted;
    };
    for (const remote of this.#remotes) {
      try {
        // a bad event fails here, not at the collector
        const out = leaving();
        refuseTrailOwnType(prepareEvent(out).type);
        remote.emit(out);
      } catch (err) {
        this.#failOrReport(err);
      }
    }
    if (this.#pretty) {
      try {
        process.stdout.write(`${formatPretty(leaving())}\n`);
      } catch (err) {
        this.#failOrReport(err);
      }
    }
    return id;
  }

  /** Throws under `block`; reports and returns '' under `continue` (or for a lost held event). */
  #failOrReport(err: unknown): string {
    if (this.#config?.failure !== 'continue') throw err;
    reportDiagnostic({
      kind: 'emit-failed',
      message: `an audit event was not recorded: ${(err as Error)?.message ?? String(err)}`,
      detail: { code: isAuditError(err) ? err.code : undefined },
    });
    return '';
  }

  async #open(config: ResolvedConfig, env: NodeJS.ProcessEnv, generation: number): Promise<void> {
    const overflow = config.failure === 'continue' ? 'count' : 'block';
    const provider = keyProviderOf(config.keys, config.sources.keys);
    const opened: AuditTrail[] = [];
    const owned: AuditTrail[] = [];
    const remotes: RemoteSink[] = [];
    const onExit = (): void => {
      if (this.#held.length > 0)
        reportDiagnostic({
          kind: 'exit-flush-timeout',
          message: `exit: ${this.#held.length} events emitted while the trail was opening were not written`,
        });
    };
    process.once('exit', onExit);
    try {
      for (const d of config.destinations) {
        if (d.kind === 'pretty') continue;
        if (d.kind === 'collector') {
          remotes.push(new RemoteSink({ url: d.url, token: d.token, spoolDir: d.spoolDir }));
          continue;
        }
        if (d.kind === 'trail') {
          opened.push(d.trail);
          continue;
        }
        // The origin is needed before the trail opens: the key ring is bound to it.
        let origin = config.origin;
        if (d.kind === 'memory') {
          d.store ??= new MemoryTrailStore(config.origin);
          origin = d.store.origin;
        } else if (d.kind === 'dir' && fs.existsSync(trailLayout(d.dir).meta)) {
          origin = readTrailMeta(d.dir).origin;
        } else if (provider !== undefined) {
          origin ??= defaultOrigin();
        }
        const options: AuditTrailOptions = { content: config.content, overflow };
        // Redaction runs in the trail, before validation; findings are committed as `redactions`.
        if (this.#redactor !== undefined) options.redact = this.#redactor;
        if (origin !== undefined && d.kind !== 'memory') options.origin = origin;
        if (d.kind === 'dir' && config.sources.keys === 'env' && origin !== undefined)
          // SEALTRAIL_KEY is one link of a directory's chain, behind Vault (docs/keys.md §2): the
          // CLI and the collector read the trail through that chain, so its writer must too. Alone,
          // it wrote under the environment's key while Vault served every reader.
          options.keys = await openKeyRing({
            providers: keyDirProviders(trailKeyPaths(d.dir).keysDir, env),
            context: origin,
          });
        else if (provider !== undefined && origin !== undefined)
          options.keys = await openKeyRing({ providers: [provider], context: origin });
        if (d.kind === 'dir') options.dir = d.dir;
        else options.store = d.kind === 'stdout' ? 'stdout' : d.store!;
        const trail = await AuditTrail.open(options);
        owned.push(trail);
        opened.push(trail);
      }
    } catch (err) {
      await Promise.all([
        ...owned.map((t) => t.close().catch(() => undefined)),
        ...remotes.map((r) => r.close().catch(() => undefined)),
      ]);
      process.removeListener('exit', onExit);
      if (generation !== this.#generation) return;
      this.#state = 'failed';
      this.#openError = err;
      const lost = this.#held.length;
      this.#held = [];
      reportDiagnostic({
        kind: 'write-failed',
        message: `audit trail could not be opened (${lost} held events lost): ${(err as Error).message}`,
        detail: { code: isAuditError(err) ? err.code : undefined },
      });
      throw err;
    }
    process.removeListener('exit', onExit);
    if (generation !== this.#generation) {
      await Promise.all([...owned.map((t) => t.close()), ...remotes.map((r) => r.close())]);
      return;
    }
    this.#trails = opened;
    this.#owned = owned;
    this.#remotes = remotes;
    this.#state = 'on';
    const held = this.#held;
    this.#held = [];
    for (const event of held) this.#write(event);
  }

  #reset(): void {
    this.#state = 'off';
    this.#trails = [];
    this.#owned = [];
    this.#remotes = [];
    this.#destinations = [];
    this.#held = [];
    this.#pretty = false;
    this.#redactor = undefined;
    this.#ready = Promise.resolve();
    this.#openError = undefined;
  }
}

/**
 * A provider serving keys parsed from `keys` / `SEALTRAIL_KEY` (named `explicit` / `env`, the
 * name the trail records), or the provider given.
 */
function keyProviderOf(keys: ResolvedConfig['keys'], source: string): KeyProvider | undefined {
  if (keys === undefined || 'load' in keys) return keys;
  return { name: source === 'env' ? 'env' : 'explicit', load: async () => keys };
}

/** The zero-config audit trail: `audit.enable()`, then `audit.emit(...)` or a typed helper. */
export const audit = new Audit();
