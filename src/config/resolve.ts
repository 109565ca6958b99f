/**
 * From `audit.enable()` options, the `SEALTRAIL_*` environment variables and the detected
 * environment to one resolved configuration. Explicit options win over variables, variables over
 * the environment's defaults. Pure (no I/O besides the probe), so every rule is tested.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditError } from '../errors.js';
import { type KeyProvider, type LoadedKeys, parseKeyEnv } from '../keys/index.js';
import type { Redactor, RedactorOptions } from '../protect/index.js';
import { type ContentMode, checkOrigin } from '../store/index.js';
import { AuditTrail, MemoryTrailStore } from '../writer/index.js';
import { readString } from './env-string.js';
import {
  type DetectedEnvironment,
  detectEnvironment,
  type Environment,
  type EnvironmentProbe,
} from './environment.js';

/**
 * Where entries go: a directory path, `"stdout"` (JSON lines), `"memory"`, `"pretty"` (a one-line
 * human summary per event on stdout, not a trail), a {@link MemoryTrailStore}, or an
 * {@link AuditTrail} you opened yourself (not closed by `disable()`). A collector URL
 * (`http(s)://host:port`) goes through a spooled RemoteSink with an ingest token.
 */
export type DestinationInput = string | MemoryTrailStore | AuditTrail;

/** A destination after parsing. */
export type Destination =
  | { kind: 'dir'; dir: string }
  | { kind: 'stdout' }
  | { kind: 'memory'; store?: MemoryTrailStore }
  | { kind: 'pretty' }
  | { kind: 'trail'; trail: AuditTrail }
  /** A collector (`http(s)://host:port`), reached through a disk spool (remote/remote-sink.ts). */
  | { kind: 'collector'; url: string; token: string; spoolDir: string };

/** What to do when the trail cannot take an event. */
export type FailurePolicy = 'block' | 'continue';

/** Options of `audit.enable()`. Every one is optional. */
export interface EnableOptions {
  /** Skip detection (see `detectEnvironment`). */
  environment?: Environment;
  /** One destination or several (each a trail of its own, sealed on its own). */
  destination?: DestinationInput | readonly DestinationInput[];
  /** The trail's origin (checkpoint key name) when it is created. Default from `SEALTRAIL_ORIGIN`, then the host name. */
  origin?: string;
  /** How content payloads are kept: `plain`, `hash` or `encrypt`. Default `hash` in production and containers, `plain` elsewhere. */
  content?: ContentMode;
  /** Redact personal data and secrets before events reach the trail (default true everywhere). */
  redactPii?: boolean;
  /** Your own redactor (a function like `createRedactor`'s) or options for the built-in one. */
  redactor?: Redactor | RedactorOptions;
  /**
   * `block` (default): the audit trail is part of the request — a full queue makes `emit` wait, a bad
   * event throws, a trail that cannot open rejects `enable()`'s promise. `continue`: the application goes
   * first — a full queue drops and counts (recorded as `system.overflow`), bad events and open failures
   * become diagnostics.
   */
  failure?: FailurePolicy;
  /** Master key(s) in `SEALTRAIL_KEY` form (`hex|base64` or `id:key,id:key`), or a key provider. */
  keys?: string | KeyProvider;
  /** The `ingest` token of a collector destination. Default from `SEALTRAIL_TOKEN`. */
  collectorToken?: string;
  /** Where a collector destination spools events. Default `SEALTRAIL_SPOOL_DIR`, then `./audit-spool`. */
  spoolDir?: string;
  /** Allow `disable()` (and `SEALTRAIL_ENABLED=false`) in production. Default from `SEALTRAIL_ALLOW_DISABLE`. */
  allowDisable?: boolean;
  /** The environment variables to read (default `process.env`); for tests. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The configuration `enable()` acts on. */
export interface ResolvedConfig {
  /** False when `SEALTRAIL_ENABLED` switched the trail off (and that was allowed). */
  enabled: boolean;
  detected: DetectedEnvironment;
  destinations: Destination[];
  origin: string | undefined;
  content: ContentMode;
  redactPii: boolean;
  redactor: Redactor | RedactorOptions | undefined;
  failure: FailurePolicy;
  /** Parsed `keys` / `SEALTRAIL_KEY`, validated now so a bad key fails at start-up. */
  keys: LoadedKeys | KeyProvider | undefined;
  allowDisable: boolean;
  /** Where each setting came from, for `audit.status()`. */
  sources: Record<'destinations' | 'content' | 'redactPii' | 'origin' | 'keys', 'option' | 'env' | 'default'>;
  /** Things worth a diagnostic (a refused `SEALTRAIL_ENABLED=false`, ...). */
  notes: string[];
}

const ENVIRONMENTS: readonly Environment[] = ['development', 'production', 'container', 'test'];
const CONTENT_MODES: readonly ContentMode[] = ['plain', 'hash', 'encrypt'];
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'environment',
  'destination',
  'origin',
  'content',
  'redactPii',
  'redactor',
  'failure',
  'keys',
  'allowDisable',
  'collectorToken',
  'spoolDir',
  'env',
]);

/**
 * Resolves the configuration.
 * @throws AuditError CONFIG_INVALID naming the option or variable; KEY_INVALID naming `keys` or
 * `SEALTRAIL_KEY` (never the key).
 */
export function resolveConfig(
  options: EnableOptions,
  probe: EnvironmentProbe,
  cwd = process.cwd(),
): ResolvedConfig {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    fail('options', 'expected an object');
  for (const key of Object.keys(options)) if (!KNOWN_OPTIONS.has(key)) fail(key, 'unknown option');
  const env = probe.env;
  const notes: string[] = [];

  if (options.environment !== undefined && !ENVIRONMENTS.includes(options.environment))
    fail('environment', `expected one of ${ENVIRONMENTS.join(', ')}`);
  const detected: DetectedEnvironment =
    options.environment === undefined
      ? detectEnvironment(probe)
      : { ...detectEnvironment(probe), environment: options.environment, reason: 'environment option' };
  const production = detected.environment === 'production';
  const protective = production || detected.environment === 'container';

  const allowDisable = options.allowDisable ?? readBool(env, 'SEALTRAIL_ALLOW_DISABLE') ?? false;
  if (options.allowDisable !== undefined && typeof options.allowDisable !== 'boolean')
    fail('allowDisable', 'expected true or false');

  let enabled = readBool(env, 'SEALTRAIL_ENABLED') ?? true;
  if (!enabled && production && !allowDisable) {
    enabled = true;
    notes.push(
      'SEALTRAIL_ENABLED=false is ignored in production (set SEALTRAIL_ALLOW_DISABLE=1 to allow it)',
    );
  }

  // Destinations.
  const dirFromEnv = readString(env, 'SEALTRAIL_DIR');
  const defaultDir = path.resolve(cwd, dirFromEnv ?? 'audit');
  let destinations: Destination[];
  let destSource: 'option' | 'env' | 'default';
  // how a message names the i-th destination: the option, or the variable it came from
  let destField = (i: number) => `destination[${i}]`;
  if (options.destination !== undefined) {
    const list = isList(options.destination) ? options.destination : [options.destination];
    if (list.length === 0) fail('destination', 'expected at least one destination');
    destinations = list.map((d, i) =>
      parseDestination(d, list.length > 1 ? `destination[${i}]` : 'destination', cwd),
    );
    destSource = 'option';
  } else if (readString(env, 'SEALTRAIL_DESTINATION') !== undefined) {
    const parts = readString(env, 'SEALTRAIL_DESTINATION')!
      .split(',')
      .map((s) => s.trim());
    destinations = parts.map((d, i) =>
      parseDestination(d, parts.length > 1 ? `SEALTRAIL_DESTINATION[${i}]` : 'SEALTRAIL_DESTINATION', cwd),
    );
    destSource = 'env';
    destField = (i) => `SEALTRAIL_DESTINATION[${i}]`;
  } else {
    destinations = defaultDestinations(detected, defaultDir, dirFromEnv !== undefined, probe);
    destSource = dirFromEnv === undefined ? 'default' : 'env';
  }
  checkDuplicates(destinations, destField);
  for (const d of destinations) {
    if (d.kind !== 'collector') continue;
    const token = options.collectorToken ?? readString(env, 'SEALTRAIL_TOKEN');
    if (token === undefined || token === '')
      fail(
        'collectorToken',
        'a collector destination needs an ingest token (collectorToken or SEALTRAIL_TOKEN)',
      );
    d.token = token;
    d.spoolDir = path.resolve(
      cwd,
      options.spoolDir ?? readString(env, 'SEALTRAIL_SPOOL_DIR') ?? 'audit-spool',
    );
  }

  // Content mode.
  let content: ContentMode;
  let contentSource: 'option' | 'env' | 'default';
  if (options.content !== undefined) {
    if (!CONTENT_MODES.includes(options.content)) fail('content', 'expected plain, hash or encrypt');
    content = options.content;
    contentSource = 'option';
  } else {
    const fromEnv = readString(env, 'SEALTRAIL_CONTENT');
    if (fromEnv !== undefined) {
      if (!CONTENT_MODES.includes(fromEnv as ContentMode))
        fail('SEALTRAIL_CONTENT', 'expected plain, hash or encrypt');
      content = fromEnv as ContentMode;
      contentSource = 'env';
    } else {
      content = protective ? 'hash' : 'plain';
      contentSource = 'default';
    }
  }

  // Redaction.
  if (options.redactPii !== undefined && typeof options.redactPii !== 'boolean')
    fail('redactPii', 'expected true or false');
  const redactFromEnv = readBool(env, 'SEALTRAIL_REDACT_PII');
  const redactPii = options.redactPii ?? redactFromEnv ?? true;
  const redactSource =
    options.redactPii !== undefined ? 'option' : redactFromEnv !== undefined ? 'env' : 'default';
  const redactor = options.redactor;
  if (redactor !== undefined) {
    if (
      typeof redactor !== 'function' &&
      (typeof redactor !== 'object' || redactor === null || Array.isArray(redactor))
    )
      fail('redactor', 'expected a redactor function or redactor options');
    if (!redactPii) fail('redactor', 'a redactor was given but redactPii is false');
  }

  if (options.failure !== undefined && options.failure !== 'block' && options.failure !== 'continue')
    fail('failure', 'expected block or continue');
  const failure = options.failure ?? 'block';

  // Origin.
  let origin: string | undefined;
  let originSource: 'option' | 'env' | 'default' = 'default';
  if (options.origin !== undefined) {
    if (typeof options.origin !== 'string') fail('origin', 'expected a string');
    // the rule of the store that creates the trail, so a bad origin fails here, named, not at open
    checkOrigin(options.origin, 'origin');
    origin = options.origin;
    originSource = 'option';
  } else if (readString(env, 'SEALTRAIL_ORIGIN') !== undefined) {
    origin = readString(env, 'SEALTRAIL_ORIGIN')!;
    checkOrigin(origin, 'SEALTRAIL_ORIGIN');
    originSource = 'env';
  }

  // Keys: validated now so a mistyped key stops start-up, not the first encryption.
  let keys: LoadedKeys | KeyProvider | undefined;
  let keySource: 'option' | 'env' | 'default' = 'default';
  if (options.keys !== undefined) {
    if (typeof options.keys === 'string') keys = parseKeyEnv(options.keys, 'keys');
    else if (
      typeof options.keys === 'object' &&
      options.keys !== null &&
      typeof options.keys.load === 'function'
    )
      keys = options.keys;
    else fail('keys', 'expected a key string (SEALTRAIL_KEY form) or a key provider');
    keySource = 'option';
  } else if (readString(env, 'SEALTRAIL_KEY') !== undefined) {
    keys = parseKeyEnv(readString(env, 'SEALTRAIL_KEY')!, 'SEALTRAIL_KEY');
    keySource = 'env';
  }
  if (content === 'encrypt' && keys === undefined)
    fail(
      contentSource === 'env' ? 'SEALTRAIL_CONTENT' : 'content',
      'encrypt needs a key: set SEALTRAIL_KEY or keys',
    );
  // A trail directory may find its keys itself (Vault, its key file); a memory or stdout trail
  // has only these: refused now, not when the promise of its open rejects.
  const keyless = destinations.find((d) => d.kind === 'memory' || d.kind === 'stdout');
  if (content === 'hash' && keys === undefined && keyless !== undefined)
    fail(
      contentSource === 'default'
        ? 'SEALTRAIL_KEY'
        : contentSource === 'env'
          ? 'SEALTRAIL_CONTENT'
          : 'content',
      `content hash${contentSource === 'default' ? ` (the ${detected.environment} default)` : ''} needs a master key on a ${keyless.kind} trail: set SEALTRAIL_KEY or keys, or SEALTRAIL_CONTENT=plain`,
    );

  return {
    enabled,
    detected,
    destinations,
    origin,
    content,
    redactPii,
    redactor,
    failure,
    keys,
    allowDisable,
    sources: {
      destinations: destSource,
      content: contentSource,
      redactPii: redactSource,
      origin: originSource,
      keys: keySource,
    },
    notes,
  };
}

/**
 * The defaults per environment (issue 5): development — pretty stdout plus the directory; production —
 * the directory; container (or production in one) — stdout JSON lines plus the directory when one is
 * mounted (`SEALTRAIL_DIR` set, or `./audit` present); test — memory.
 */
function defaultDestinations(
  detected: DetectedEnvironment,
  dir: string,
  dirExplicit: boolean,
  probe: EnvironmentProbe,
): Destination[] {
  switch (detected.environment) {
    case 'test':
      return [{ kind: 'memory' }];
    case 'development':
      return [{ kind: 'pretty' }, { kind: 'dir', dir }];
    case 'production':
    case 'container':
      if (!detected.container) return [{ kind: 'dir', dir }];
      return dirExplicit || probe.exists(dir)
        ? [{ kind: 'stdout' }, { kind: 'dir', dir }]
        : [{ kind: 'stdout' }];
  }
}

/**
 * Parses one destination.
 * @throws AuditError CONFIG_INVALID naming `field`.
 */
export function parseDestination(input: DestinationInput, field: string, cwd: string): Destination {
  if (input instanceof MemoryTrailStore) return { kind: 'memory', store: input };
  if (input instanceof AuditTrail) return { kind: 'trail', trail: input };
  if (typeof input !== 'string')
    fail(
      field,
      'expected a directory path, "stdout", "memory", "pretty", a MemoryTrailStore or an AuditTrail',
    );
  const text = input.trim();
  if (text === '') fail(field, 'empty');
  if (text === 'stdout' || text === 'pretty' || text === 'memory') return { kind: text };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  // The token and spool are filled in by resolve(), which knows the options and the environment.
  if (scheme === 'http' || scheme === 'https')
    return { kind: 'collector', url: text, token: '', spoolDir: '' };
  if (scheme === 'file') {
    try {
      return { kind: 'dir', dir: fileURLToPath(text) };
    } catch {
      fail(field, 'not a valid file URL');
    }
  }
  if (scheme !== undefined)
    fail(field, `unknown scheme ${scheme}: expected a directory path, stdout, memory or pretty`);
  return { kind: 'dir', dir: path.resolve(cwd, text) };
}

function checkDuplicates(list: readonly Destination[], field: (i: number) => string): void {
  const seen = new Set<string>();
  list.forEach((d, i) => {
    const key =
      d.kind === 'dir'
        ? `dir:${d.dir}`
        : d.kind === 'collector'
          ? `collector:${d.url}`
          : d.kind === 'memory' || d.kind === 'trail'
            ? undefined
            : d.kind;
    if (key === undefined) return;
    if (seen.has(key)) fail(field(i), 'listed twice');
    seen.add(key);
  });
}

function isList(value: unknown): value is readonly DestinationInput[] {
  return Array.isArray(value);
}

/**
 * A boolean variable: 1/true/yes/on or 0/false/no/off, any case.
 * @throws AuditError CONFIG_INVALID naming the variable.
 */
function readBool(env: Readonly<Record<string, string | undefined>>, name: string): boolean | undefined {
  const v = readString(env, name)?.toLowerCase();
  if (v === undefined) return undefined;
  if (v === '1' || v === 'true' || v === 'yes' || v === 'on') return true;
  if (v === '0' || v === 'false' || v === 'no' || v === 'off') return false;
  fail(name, 'expected 1, true, yes, on, 0, false, no or off');
}

function fail(field: string, message: string): never {
  throw new AuditError('CONFIG_INVALID', `${field}: ${message}`, { field });
}
