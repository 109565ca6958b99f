/**
 * The collector: one Fastify server in front of one trail directory or PostgreSQL log. Producers POST batches of
 * events with an `ingest` token; readers query, fetch entries, conversations, the checkpoint,
 * proofs and verification with a `read` token, and every such read is recorded in the trail as an
 * `audit.read` event naming the reader. Errors answer with the status of the AuditError table and
 * a body `{ error: CODE, message, field? }`; a 401 or 403 says nothing more than its code. Request
 * logging is off: bodies carry content payloads, and headers carry tokens.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  fastify,
} from 'fastify';
import type { VerifyReport } from '../chain/index.js';
import { reportDiagnostic } from '../diagnostics.js';
import { AuditError, isAuditError } from '../errors.js';
import type { AuditEventInput } from '../event/index.js';
import {
  type AuditEntry,
  getEntry,
  parseSince,
  proveConsistency,
  proveInclusion,
  type QueryFilter,
  query,
  reconstructConversation,
  recordedFilter,
} from '../read/index.js';
import { type VerifyTarget, verifyInThread } from '../read/verify-thread.js';
import { DirSource } from '../store/index.js';
import type { PgSource } from '../store/postgres/index.js';
import { strictUtf8 } from '../utf8.js';
import { AuditTrail, type AuditTrailOptions } from '../writer/index.js';
import type { PostgresTarget } from '../writer/postgres-target.js';
import { ConnectionTracker } from './connections.js';
import { type RequestReveal, TrailDecryption } from './content-reveal.js';
import { inexactInBody, parseJsonLines, prepareBatch } from './ingest.js';
import { CollectorMetrics } from './metrics.js';
import { sizeParam } from './params.js';
import { SinkSequences, type SinkStateLimits } from './sink-sequences.js';
import { StatsBuilder, type TrailStats } from './stats.js';
import { LiveTail, type TailLimits, TailSlots } from './tail.js';
import { type TokenRecord, type TokenScope, TokenSet, tokenFile } from './tokens.js';
import { VIEWER_CSP, VIEWER_HTML, VIEWER_JS } from './viewer/index.js';
import { registerWitnessRoutes } from './witness-routes.js';

/** Options of {@link Collector.open}. */
export interface CollectorOptions {
  /**
   * The trail directory (created when missing). With `postgres`, the collector's own directory:
   * it holds only the token file (tokens.json), the trail is the PostgreSQL log.
   */
  dir: string;
  /**
   * Write and read a log in PostgreSQL (docs/postgres.md). Several collectors can share one
   * database, each writing its own logs; a second collector for the same log fails with
   * TRAIL_LOCKED (or waits `lockTimeoutMs`).
   */
  postgres?: PostgresTarget;
  /** Writer options; the collector sets `overflow: 'reject'` unless told otherwise. */
  trail?: Omit<AuditTrailOptions, 'dir' | 'store' | 'postgres'>;
  /** Most events in one POST; default 1000. */
  maxBatch?: number;
  /** Largest request body in bytes; default 5 MiB. Larger bodies get 413. */
  bodyLimit?: number;
  /** A request (headers and body) must arrive within this many ms, or gets 408; default 60 s. */
  requestTimeoutMs?: number;
  /** Most entries in one page of GET /v1/events; default 1000. */
  maxPage?: number;
  /**
   * Requests per token (per client address without a token) in a window; over it, 429 with
   * `Retry-After`. Default 6000 a minute; `false` turns it off.
   */
  rateLimit?: { max: number; windowMs: number } | false;
  /**
   * How often the exactly-once state of remote sinks is saved while running (ms; default five
   * minutes; 0: only on close). A restart scans the entries after the last save.
   */
  sinkStateIntervalMs?: number;
  /**
   * How much of that state is kept: a sink not heard from for `maxAgeMs` (default 30 days) is
   * forgotten, and past `maxSinks` (default 100,000) the least recently heard from is.
   */
  sinkState?: Partial<SinkStateLimits>;
  /**
   * Most live tails (`GET /v1/tail`) open at once per token and in all; default 4 and 64. One more
   * is `429 TOO_MANY_TAILS`.
   */
  tails?: Partial<TailLimits>;
  /** Serve HTTPS with this certificate chain and private key (PEM). Default plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

const DEFAULT_MAX_QUEUE = 100_000;
const DEFAULT_SINK_STATE_MS = 5 * 60_000;
const TOKEN_RELOAD_MS = 1000;
const TAIL_POLL_MS = 1000;
/** How long close() waits for requests in flight before it closes their connections. */
const CLOSE_GRACE_MS = 5000;
/** A request (headers and body) must arrive within this: a slow body is a held connection. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Longest path parameter: above Node's 16 KiB header limit, so that limit is the one that applies. */
const MAX_PARAM_LENGTH = 65_536;
const CONTENT_TYPES_JSONL = ['application/x-ndjson', 'application/jsonl', 'application/jsonlines'];

/**
 * Headers of every answer. Answers hold the trail's records and decrypted payloads: no cache may
 * keep them (`no-store`; a browser's disk cache on a shared machine), no browser may sniff them
 * into HTML, and no other site may frame them. Only the viewer page loads anything (its own
 * policy, VIEWER_CSP); everything else loads nothing.
 */
const SAFETY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

/**
 * Sets SAFETY_HEADERS on the response itself, so that they also go out with answers written
 * outside Fastify (the live tail); a route's own header of the same name replaces one.
 */
function setSafetyHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(SAFETY_HEADERS)) reply.raw.setHeader(name, value);
}

const notUtf8 = () => new AuditError('USAGE', 'body: not valid UTF-8', { field: 'body' });

interface RouteScope {
  scope?: TokenScope | readonly TokenScope[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs, or a list of which any one will do (collector routes). */
    scope?: TokenScope | readonly TokenScope[];
  }
}

/** A running collector: its Fastify app and the trail it writes. */
export class Collector {
  readonly app: FastifyInstance;
  readonly trail: AuditTrail;
  readonly dir: string;
  /** What reads go to: the trail directory, or the PostgreSQL log's reader. */
  private readonly reads: string | PgSource;
  /** What a verification reads, in a thread of its own: the directory, or the log on its own connection. */
  private readonly verifyTarget: VerifyTarget;
  /** The verification running now: every `GET /v1/verify` that arrives meanwhile gets its report. */
  private verifying: Promise<{ report: VerifyReport; verifiedAt: string }> | undefined;
  readonly metrics = new CollectorMetrics();
  private tokens: TokenSet;
  private tokensMtime = -1;
  private tokensCheckedAt = 0;
  /** The token file could not be read at the last check (reported once, tried at every check). */
  private tokensFailing = false;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly maxPage: number;
  private readonly callers = new WeakMap<FastifyRequest, TokenRecord>();
  /** Counts requests that authentication refused (set when rate limits are on). */
  private limitRefused: ((req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) | undefined;
  private readonly tls: boolean;
  private readonly sinks: SinkSequences;
  private readonly decryption: TrailDecryption;
  private sinkTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private closing = false;
  /** The open tails (closed first on close: a streaming answer would keep the server open). */
  private readonly tails = new Set<LiveTail<AuditEntry>>();
  private readonly tailSlots: TailSlots;
  private readonly connections: ConnectionTracker;

  private constructor(
    dir: string,
    trail: AuditTrail,
    sinks: SinkSequences,
    options: CollectorOptions,
    reads: string | PgSource,
  ) {
    this.dir = dir;
    this.reads = reads;
    this.verifyTarget =
      options.postgres === undefined
        ? { dir }
        : { postgres: { url: options.postgres.url, log: options.postgres.log ?? 'default' } };
    this.trail = trail;
    this.sinks = sinks;
    this.decryption = new TrailDecryption(dir, trail.origin, options.trail?.keys);
    const every = options.sinkStateIntervalMs ?? DEFAULT_SINK_STATE_MS;
    if (every > 0) {
      this.sinkTimer = setInterval(() => {
        if (this.saving !== undefined) return;
        this.saving = this.saveSinks()
          .catch((err: unknown) =>
            reportDiagnostic({
              kind: 'write-failed',
              message: `collector: sink state not saved (${(err as AuditError).code ?? 'STORE_IO'}); kept for the next save`,
            }),
          )
          .finally(() => {
            this.saving = undefined;
          });
      }, every);
      this.sinkTimer.unref();
    }
    this.maxQueue = options.trail?.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.maxBatch = options.maxBatch ?? 1000;
    this.maxPage = options.maxPage ?? 1000;
    this.tailSlots = new TailSlots(options.tails);
    this.tokens = new TokenSet([]);
    this.reloadTokens(true);
    const bodyLimit = options.bodyLimit ?? 5 * 1024 * 1024;
    this.tls = options.tls !== undefined;
    // An HTTPS instance has another server type parameter; the routes use none of its specifics.
    // A request must arrive whole within its time limit: Fastify's default (none) let a client
    // holding a body back, a byte at a time, keep its connection for good.
    // Given to Node's server itself (set on it afterwards, as Fastify does, it is not enforced),
    // checked once a second (Node's default: every 30 s).
    const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const server = { requestTimeout, connectionsCheckingInterval: Math.min(1000, requestTimeout) };
    const base = {
      logger: false,
      bodyLimit,
      requestTimeout,
      // A conversation id may be as long as the writer takes an identifier; Fastify's default (100
      // characters) refused longer ones in `/v1/conversations/:id`. Node's header size limit
      // (16 KiB) still bounds the whole request line.
      routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
      // A path Fastify cannot decode (`%ZZ`) gets the collector's own error shape, not Fastify's.
      frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
        setSafetyHeaders(reply);
        this.sendError(
          err.code === 'FST_ERR_BAD_URL'
            ? new AuditError('USAGE', 'url: not a valid percent-encoded path', { field: 'url' })
            : err,
          reply,
        );
      },
    };
    this.app =
      options.tls === undefined
        ? fastify({ ...base, http: server })
        : (fastify({
            ...base,
            https: { ...server, cert: options.tls.cert, key: options.tls.key },
          }) as unknown as FastifyInstance);
    this.connections = new ConnectionTracker(this.app.server);
  }

  private async setup(limit: CollectorOptions['rateLimit']): Promise<void> {
    if (limit !== false) {
      await this.app.register(rateLimit, {
        max: limit?.max ?? 6000,
        timeWindow: limit?.windowMs ?? 60_000,
        // After authentication (onRequest), before the body is read.
        hook: 'preParsing',
        keyGenerator: (req) => {
          const rec = this.callers.get(req);
          return rec === undefined ? `ip:${req.ip}` : `token:${rec.id}`;
        },
        errorResponseBuilder: () => ({ statusCode: 429, code: 'RATE_LIMITED' }),
      });
      // A request refused by authentication never reaches the route's limit: it counts here,
      // against its client address, so guessing tokens is limited like any other request.
      this.limitRefused = this.app.rateLimit();
    }
    this.routes();
  }

  /**
   * Opens the trail in `options.dir` for writing and builds the server (not yet listening).
   * @throws AuditError TRAIL_LOCKED (another writer holds the trail), CONFIG_INVALID, STORE_IO.
   */
  static async open(options: CollectorOptions): Promise<Collector> {
    const trail = await AuditTrail.open({
      overflow: 'reject',
      handleExit: false,
      maxQueue: DEFAULT_MAX_QUEUE, // the check in ingest below counts on the same bound
      ...options.trail,
      ...(options.postgres === undefined ? { dir: options.dir } : { postgres: options.postgres }),
    });
    let reads: string | PgSource = options.dir;
    try {
      if (options.postgres !== undefined) {
        const { PgSource } = await import('../store/postgres/index.js');
        reads = new PgSource(options.postgres.url, options.postgres.log);
      }
      const sinks = SinkSequences.load(
        options.dir,
        typeof reads === 'string' ? undefined : reads,
        options.sinkState,
      );
      const collector = new Collector(options.dir, trail, sinks, options, reads);
      await collector.setup(options.rateLimit);
      return collector;
    } catch (err) {
      if (typeof reads !== 'string') reads.close();
      await trail.close();
      throw err;
    }
  }

  /** Starts listening; resolves with the address (port 0 picks a free port). */
  async listen(
    options: { host?: string; port?: number } = {},
  ): Promise<{ host: string; port: number; url: string }> {
    await this.app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8787 });
    const addr = this.app.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const scheme = this.tls ? 'https' : 'http';
    return { host: addr.address, port: addr.port, url: `${scheme}://${host}:${addr.port}` };
  }

  /**
   * Stops accepting requests, flushes and closes the trail, and saves the sink sequences.
   * Connections without a request in flight are closed at once (connections.ts); requests in
   * flight get CLOSE_GRACE_MS to finish, then their connections are closed too (a request body
   * that never ends would otherwise hold the close forever).
   */
  async close(): Promise<void> {
    this.closing = true;
    // Tails first: each records its end while the trail is still open.
    await Promise.all([...this.tails].map((t) => t.stop()));
    this.connections.startClosing();
    const force = setTimeout(() => this.app.server.closeAllConnections(), CLOSE_GRACE_MS);
    try {
      await this.app.close();
    } finally {
      clearTimeout(force);
    }
    // A verification still running is waited for, not stopped (its thread would leave its files
    // open): the requests that await it record their reads before the trail closes.
    await this.verifying?.catch(() => {});
    if (this.sinkTimer !== undefined) clearInterval(this.sinkTimer);
    await this.saving;
    await this.trail.close();
    // Closed: the final checkpoint covers every entry, all durable.
    const size = SinkSequences.checkpointSize(this.trailLines(), this.trail.verifierKey);
    SinkSequences.save(this.dir, size, this.sinks.snapshot());
    if (typeof this.reads !== 'string') this.reads.close();
  }

  /** The trail's lines and checkpoints: the directory's, or the PostgreSQL log's. */
  private trailLines(): DirSource | PgSource {
    return typeof this.reads === 'string' ? new DirSource(this.reads) : this.reads;
  }

  /** Saves the sink state while running (see sink-sequences.ts for why in this order). */
  private async saveSinks(): Promise<void> {
    const size = SinkSequences.checkpointSize(this.trailLines(), this.trail.verifierKey);
    const sinks = this.sinks.snapshot();
    await this.trail.flush();
    SinkSequences.save(this.dir, size, sinks);
  }

  /**
   * Reloads the token file when it changed (checked at most once a second). A file changed into
   * one that cannot be read refuses every token until it is fixed.
   * @throws AuditError CONFIG_INVALID with `force` (on open) when the file is not a token file.
   */
  private reloadTokens(force = false): void {
    const now = Date.now();
    if (!force && now - this.tokensCheckedAt < TOKEN_RELOAD_MS) return;
    this.tokensCheckedAt = now;
    let mtime: number;
    try {
      mtime = fs.statSync(tokenFile(this.dir)).mtimeMs;
    } catch {
      mtime = 0;
    }
    if (mtime === this.tokensMtime) return;
    this.tokensMtime = mtime;
    try {
      this.tokens = TokenSet.load(this.dir);
      this.tokensFailing = false;
    } catch (err) {
      if (force) throw err; // on open: the collector does not start
      // Fail closed, and say so only to the operator: keeping the tokens of before would keep a
      // token the change meant to revoke, and the error names a path on this machine. Read again
      // at the next check: a fix may leave the mtime as it is (chmod, chown), an error may pass.
      const failing = this.tokensFailing;
      this.tokens = new TokenSet([]);
      this.tokensMtime = -1;
      this.tokensFailing = true;
      if (!failing)
        reportDiagnostic({
          kind: 'config',
          message: `collector: ${tokenFile(this.dir)} is not a token file; every token is refused until it is fixed`,
        });
    }
  }

  private caller(req: FastifyRequest): TokenRecord {
    const rec = this.callers.get(req);
    if (rec === undefined) throw new Error('route without authentication');
    return rec;
  }

  /** Finds the caller's token: undefined when it may act in `scope`, else the status that refuses it. */
  private authenticate(
    req: FastifyRequest,
    scope: TokenScope | readonly TokenScope[],
  ): 401 | 403 | undefined {
    this.reloadTokens();
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header) : null;
    const rec = m === null ? undefined : this.tokens.find(m[1]!);
    if (rec === undefined) return 401;
    // `read:content` implies `read`.
    const has = (typeof scope === 'string' ? [scope] : scope).some(
      (s) => rec.scopes.includes(s) || (s === 'read' && rec.scopes.includes('read:content')),
    );
    if (!has) return 403;
    this.callers.set(req, rec);
    return undefined;
  }

  /**
   * Records a read through the API as `audit.read`, durably before the answer goes out (a reader
   * must not get data whose read a crash could leave unrecorded). A read that cannot be recorded fails.
   */
  private async recordRead(
    req: FastifyRequest,
    verb: string,
    filter: Record<string, unknown>,
    count: number,
    reveal?: RequestReveal,
    extra?: Record<string, unknown>,
  ): Promise<void> {
    const reader = this.caller(req);
    const text = recordedFilter(filter);
    const event: AuditEventInput = {
      type: 'audit.read',
      actor: { id: reader.name, type: 'service', authMethod: 'bearer_token', ip: req.ip },
      action: verb,
      outcome: 'success',
      meta: { verb, filter: text, count, via: 'collector', tokenId: reader.id, ...reveal?.meta(), ...extra },
    };
    this.trail.recordOwn(event);
    this.metrics.reads++;
    await this.trail.flush();
  }

  private showContent(req: FastifyRequest): boolean {
    return this.caller(req).scopes.includes('read:content');
  }

  /** The decryption hook of a request: only for `read:content` readers. */
  private notFound(reply: FastifyReply): FastifyReply {
    // Its body is not read: the connection ends with the answer.
    void reply.code(404).header('connection', 'close').send({ error: 'NOT_FOUND', message: 'no such route' });
    return reply;
  }

  private revealOf(req: FastifyRequest): RequestReveal | undefined {
    return this.showContent(req) ? this.decryption.forRequest() : undefined;
  }

  private routes(): void {
    const app = this.app;
    for (const type of CONTENT_TYPES_JSONL) {
      app.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => {
        const text = strictUtf8(body as Buffer);
        if (text === undefined) return done(notUtf8());
        const parsed = parseJsonLines(text);
        if (Array.isArray(parsed)) {
          done(null, parsed);
          return;
        }
        this.metrics.rejected += text.split('\n').filter((l) => l.trim() !== '').length;
        done(new AuditError('EVENT_INVALID', parsed.message, { index: parsed.index, field: parsed.field }));
      });
    }
    // Plain JSON.parse in place of Fastify's secure-json-parse, whose scan for `__proto__` and
    // `constructor` keys cost about a third of the parse (measured). Such keys stay inert here:
    // the only body is an ingest batch, which is read field by field and never merged into another
    // object (prepareEvent defines `__proto__` as an own property).
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
      const text = strictUtf8(body as Buffer);
      if (text === undefined) return done(notUtf8());
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        // The parser's message is not kept: it quotes the body.
        done(new AuditError('USAGE', 'body: not valid JSON', { field: 'body' }));
        return;
      }
      const inexact = inexactInBody(parsed);
      if (inexact === undefined) {
        done(null, parsed);
        return;
      }
      this.metrics.rejected += Array.isArray(parsed) ? parsed.length : 1;
      done(new AuditError('EVENT_INVALID', inexact.message, { index: inexact.index, field: inexact.field }));
    });
    app.addHook('onRequest', async (_req, reply) => {
      setSafetyHeaders(reply);
    });
    app.addHook('onRequest', async (req, reply) => {
      // No such route: answered before its body is read (and parsed), token or not.
      if (req.routeOptions.url === undefined) return this.notFound(reply);
      const scope = (req.routeOptions.config as RouteScope | undefined)?.scope;
      if (scope === undefined) return;
      const refused = this.authenticate(req, scope);
      if (refused === undefined) return this.refuseEncoding(req, reply);
      await this.limitRefused?.(req, reply); // throws RATE_LIMITED over the limit
      this.metrics.authFailures++;
      void reply.header('connection', 'close'); // its body is not read: the connection ends with the answer
      if (refused === 401)
        void reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="sealtrail"')
          .send({ error: 'unauthorized', message: 'a valid bearer token is required' });
      else void reply.code(403).send({ error: 'forbidden', message: 'this token may not do that' });
      return reply;
    });
    app.setErrorHandler((err, _req, reply) => this.sendError(err, reply));
    app.setNotFoundHandler((_req, reply) => this.notFound(reply));

    // The viewer holds no data: it signs in with a reader token and calls the API below.
    app.get('/', async (_req, reply) => {
      void reply.type('text/html; charset=utf-8').header('content-security-policy', VIEWER_CSP);
      return VIEWER_HTML;
    });
    app.get('/viewer.js', async (_req, reply) => {
      void reply.type('text/javascript; charset=utf-8');
      return VIEWER_JS;
    });

    app.get('/healthz', async () => ({
      ok: true,
      origin: this.trail.origin,
      // The public key of the checkpoints (C2SP vkey); readers should compare it with their own copy.
      verifierKey: this.trail.verifierKey,
      queueDepth: this.trail.queueDepth,
    }));

    app.get('/metrics', { config: { scope: 'admin' } }, async (_req, reply) => {
      void reply.type('text/plain; version=0.0.4; charset=utf-8');
      return this.metrics.render(this.trail.queueDepth, this.tailSlots.open);
    });

    app.post('/v1/events', { config: { scope: 'ingest' } }, async (req, reply) => this.ingest(req, reply));

    app.get('/v1/events', { config: { scope: 'read' } }, async (req) => this.listEvents(req));

    app.get<{ Params: { id: string } }>('/v1/events/:id', { config: { scope: 'read' } }, async (req) => {
      const reveal = this.revealOf(req);
      const entry = await getEntry(
        this.reads,
        req.params.id,
        reveal === undefined ? {} : { reveal: reveal.reveal },
      );
      if (entry === undefined) throw new AuditError('NOT_FOUND', 'no entry with this id', { field: 'id' });
      await this.recordRead(req, 'api.get', { id: req.params.id }, 1, reveal);
      return { event: this.shown(entry, this.showContent(req)) };
    });

    app.get<{ Params: { id: string } }>(
      '/v1/conversations/:id',
      { config: { scope: 'read' } },
      async (req) => {
        const reveal = this.revealOf(req);
        const view = await reconstructConversation(
          this.reads,
          req.params.id,
          reveal === undefined ? {} : { reveal: reveal.reveal },
        );
        const content = this.showContent(req);
        for (const turn of view.turns) {
          for (const e of turn.entries) e.entry = this.shown(e.entry, content);
        }
        await this.recordRead(req, 'api.conversation', { conversation: req.params.id }, view.entries, reveal);
        return view;
      },
    );

    app.get('/checkpoint', { config: { scope: 'read' } }, async (req, reply) => {
      const note = this.trailLines().latestCheckpoint();
      if (note === undefined) throw new AuditError('CHECKPOINT_MISSING', 'no checkpoint yet');
      await this.recordRead(req, 'api.checkpoint', {}, 1);
      void reply.type('text/plain; charset=utf-8');
      return note;
    });

    app.get<{ Querystring: { id?: string } }>(
      '/v1/proof/inclusion',
      { config: { scope: 'read' } },
      async (req) => {
        const id = req.query.id;
        if (typeof id !== 'string' || id === '')
          throw new AuditError('USAGE', 'id: expected an entry id', { field: 'id' });
        const proof = proveInclusion(this.reads, { id });
        await this.recordRead(req, 'api.prove', { id }, 1);
        return proof;
      },
    );

    app.get<{ Querystring: { from?: string; to?: string } }>(
      '/v1/proof/consistency',
      { config: { scope: 'read' } },
      async (req) => {
        const from = sizeParam('from', req.query.from);
        const to = req.query.to === undefined ? undefined : sizeParam('to', req.query.to);
        const proof = proveConsistency(this.reads, from, to);
        await this.recordRead(req, 'api.consistency', { from, to: proof.size2 }, 1);
        return proof;
      },
    );

    app.get('/v1/stats', { config: { scope: 'read' } }, async (req) => this.stats(req));

    app.get('/v1/tail', { config: { scope: 'read' } }, async (req, reply) => this.tail(req, reply));

    app.get('/v1/verify', { config: { scope: 'read' } }, async (req) => {
      const { report, verifiedAt } = await this.verify();
      await this.recordRead(req, 'api.verify', {}, report.entries);
      return { verifiedAt, ...report };
    });

    registerWitnessRoutes(app, this.dir, {
      caller: (req) => this.caller(req),
      recordRead: (req, filter, count) => this.recordRead(req, 'api.witness', filter, count),
      maxPage: this.maxPage,
    });
  }

  /**
   * A full verification, run in a worker thread so that ingest, reads and health checks are served
   * meanwhile (a million entries take seconds of CPU). Single flight: a request that arrives while
   * one runs gets that run's report, with the time the run finished, rather than starting another.
   */
  private verify(): Promise<{ report: VerifyReport; verifiedAt: string }> {
    if (this.verifying !== undefined) return this.verifying;
    this.metrics.verifications++;
    this.verifying = verifyInThread(this.verifyTarget)
      .then((report) => ({ report, verifiedAt: new Date().toISOString() }))
      .finally(() => {
        this.verifying = undefined;
      });
    return this.verifying;
  }

  private async ingest(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const producer = this.caller(req).name;
    const body = req.body;
    const raw = Array.isArray(body) ? body : undefined;
    if (raw === undefined) {
      this.metrics.rejected++;
      throw new AuditError('USAGE', 'events: expected a JSON array or JSON lines of events', {
        field: 'events',
      });
    }
    let prepared: ReturnType<typeof prepareBatch>;
    try {
      prepared = prepareBatch(raw, this.maxBatch, producer, (e) => this.trail.prepare(e));
    } catch (err) {
      this.metrics.rejected += raw.length;
      throw err;
    }
    // A batch with one bad event is refused whole, naming the event and its field.
    const refuse = (bad: { message: string; index: number; field: string }) => {
      this.metrics.rejected += raw.length;
      return reply
        .code(400)
        .send({ error: 'EVENT_INVALID', message: bad.message, index: bad.index, field: bad.field });
    };
    if (!Array.isArray(prepared)) return refuse(prepared);
    const admission = this.sinks.admit(raw, producer);
    if (!('duplicate' in admission)) return refuse(admission);
    const fresh = admission.duplicates === 0 ? prepared : prepared.filter((_, i) => !admission.duplicate[i]);
    // All or nothing: refuse the batch before emitting any of it when the queue cannot take it whole.
    if (this.trail.queueDepth + fresh.length > this.maxQueue) {
      this.metrics.rejected += raw.length;
      this.metrics.overloaded++;
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: 'BUFFER_FULL', message: 'the writer queue is full; retry later' });
    }
    // emitPrepared and commit in the same turn: a repeat arriving meanwhile sees these seqs.
    this.trail.emitPrepared(fresh);
    this.sinks.commit(admission);
    const ids = prepared.map((p, i) => (admission.duplicate[i] === true ? null : p.id));
    // Batches that arrive in the same turn of the event loop go to the writer as one hand-off (the
    // writer sends on its next turn): each hand-off wakes the writer thread, which on a busy
    // machine showed as about 1 ms of wall time per request in profiles (measured).
    await new Promise<void>((resolve) => setImmediate(resolve));
    const started = process.hrtime.bigint();
    await this.trail.flush();
    this.metrics.flushSecondsSum += Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.flushCount++;
    this.metrics.ingested += fresh.length;
    this.metrics.duplicates += admission.duplicates;
    this.metrics.batches++;
    // A repeat is answered only now too: after the flush, its first copy is durable as well.
    return admission.duplicates === 0 ? { ids } : { ids, duplicates: admission.duplicates };
  }

  private async listEvents(req: FastifyRequest): Promise<unknown> {
    const params = { ...(req.query as Record<string, string | string[]>) };
    const one = (name: string): string | undefined => {
      const v = params[name];
      delete params[name];
      if (Array.isArray(v)) throw new AuditError('USAGE', `${name}: give it once`, { field: name });
      return v;
    };
    const limit = Math.min(sizeParam('limit', one('limit') ?? '100', 1), this.maxPage);
    const cursorText = one('cursor');
    const cursor = cursorText === undefined ? undefined : sizeParam('cursor', cursorText);
    const orderText = one('order') ?? 'newest';
    if (orderText !== 'newest' && orderText !== 'oldest') {
      throw new AuditError('USAGE', 'order: expected newest or oldest', { field: 'order' });
    }
    const content = this.showContent(req);
    const filter = this.filterOf(params, content);
    if (cursor !== undefined) {
      if (orderText === 'newest')
        filter.seqTo = Math.min(cursor, (filter.seqTo as number | undefined) ?? cursor);
      else filter.seqFrom = Math.max(cursor + 1, (filter.seqFrom as number | undefined) ?? 0);
    }
    const reveal = this.revealOf(req);
    const q = query(this.reads, filter as QueryFilter, {
      order: orderText,
      limit: limit + 1,
      ...(reveal === undefined ? {} : { reveal: reveal.reveal }),
    });
    const entries: AuditEntry[] = [];
    for await (const e of q) entries.push(e);
    const more = entries.length > limit;
    if (more) entries.length = limit;
    const last = entries[entries.length - 1];
    await this.recordRead(
      req,
      'api.query',
      { ...params, limit, cursor: cursorText, order: orderText },
      entries.length,
      reveal,
    );
    return {
      events: entries.map((e) => this.shown(e, content)),
      nextCursor: more && last !== undefined ? String(last.seq) : null,
    };
  }

  /** The query filter of the remaining query parameters (the query() fields, named in errors). */
  private filterOf(params: Record<string, string | string[]>, content: boolean): Record<string, unknown> {
    if (params.text !== undefined && !content) {
      // Free text also searches content payloads: without read:content it would reveal them.
      throw new AuditError('USAGE', 'text: needs a token with the read:content scope', { field: 'text' });
    }
    const filter: Record<string, unknown> = { ...params };
    for (const k of ['seqFrom', 'seqTo'] as const) {
      if (typeof filter[k] === 'string') filter[k] = sizeParam(k, filter[k] as string);
    }
    return filter;
  }

  /** The seq the next entry will have (the number of entries in the trail). */
  private async endSeq(): Promise<number> {
    for await (const e of query(this.reads, {}, { order: 'newest', limit: 1 })) return e.seq + 1;
    return 0;
  }

  /**
   * `GET /v1/tail`: entries appended after `after` (default: from now on) that match the filter,
   * as server-sent events (`data: <entry JSON>`), checked every second. The tail is recorded as
   * one `audit.read` when it opens, and one more when it ends if it sent anything. Over the tail
   * limits (per token, in all), 429 TOO_MANY_TAILS.
   */
  private async tail(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const params = { ...(req.query as Record<string, string | string[]>) };
    const afterText = params.after;
    delete params.after;
    if (Array.isArray(afterText)) throw new AuditError('USAGE', 'after: give it once', { field: 'after' });
    const content = this.showContent(req);
    const filter = this.filterOf(params, content);
    // Checked now, so that a bad filter is a 400 rather than an error in the stream.
    query(this.reads, filter as QueryFilter);
    const after = afterText === undefined ? undefined : sizeParam('after', afterText);
    const release = this.tailSlots.take(this.caller(req).id);
    if (typeof release === 'string') {
      this.metrics.tailsRefused++;
      const { perToken, total } = this.tailSlots.limits;
      return reply
        .code(429)
        .header('retry-after', '5')
        .send({
          error: 'TOO_MANY_TAILS',
          message:
            release === 'perToken'
              ? `this token has ${perToken} live tails open, the most allowed; close one first`
              : `the collector has ${total} live tails open, the most allowed; retry later`,
          limit: release,
        });
    }
    let tail: LiveTail<AuditEntry>;
    try {
      const end = await this.endSeq();
      // An `after` past the last entry would wait, unseen, for entries that do not exist yet.
      if (after !== undefined && after >= end)
        throw new AuditError('USAGE', `after: beyond the last entry (seq ${end - 1})`, { field: 'after' });
      const next = after === undefined ? end : after + 1;
      // Checked after the wait: close() stops only the tails it finds open.
      if (this.closing) throw new AuditError('TRAIL_CLOSED', 'the collector is closing');
      const reveal = this.revealOf(req);
      // Entries are sent before the tail's closing record: the opening one, durable, says already
      // that this reader is shown the content, decrypted, in case the collector dies meanwhile.
      await this.recordRead(
        req,
        'api.tail',
        { ...params, after: next - 1 },
        0,
        undefined,
        reveal === undefined ? undefined : { mayDecrypt: true },
      );
      reply.hijack();
      tail = new LiveTail<AuditEntry>(reply.raw, next, {
        pollMs: TAIL_POLL_MS,
        endSeq: () => this.endSeq(),
        read: (from, to) =>
          query(this.reads, { ...filter, seqFrom: from, seqTo: to } as QueryFilter, {
            order: 'oldest',
            ...(reveal === undefined ? {} : { reveal: reveal.reveal }),
          }),
        show: (e) => JSON.stringify(this.shown(e, content)),
        ended: (sent) => {
          this.tails.delete(tail);
          release();
          if (sent === 0) return;
          // The entries are sent already; when the queue is full, the opening record stands.
          this.recordRead(req, 'api.tail.end', { ...params, after: next - 1 }, sent, reveal).catch(() => {});
        },
      });
    } catch (err) {
      release();
      throw err;
    }
    this.tails.add(tail);
    return reply;
  }

  /** `GET /v1/stats`: counts per time bucket for the viewer's charts (no content is read). */
  private async stats(req: FastifyRequest): Promise<TrailStats> {
    const params = req.query as Record<string, string | string[] | undefined>;
    for (const name of Object.keys(params)) {
      if (name !== 'since' && name !== 'buckets')
        throw new AuditError('USAGE', `${name}: unknown parameter (since, buckets)`, { field: name });
    }
    const sinceText = params.since ?? '24h';
    const bucketsText = params.buckets ?? '24';
    if (Array.isArray(sinceText)) throw new AuditError('USAGE', 'since: give it once', { field: 'since' });
    if (Array.isArray(bucketsText))
      throw new AuditError('USAGE', 'buckets: give it once', { field: 'buckets' });
    const now = Date.now();
    const fromMs = parseSince('since', sinceText, now);
    // Checked before any entry is read: the window bounds the work of one request.
    const builder = new StatsBuilder(fromMs, now, sizeParam('buckets', bucketsText));
    let count = 0;
    for await (const e of query(this.reads, { from: new Date(fromMs).toISOString() }, { order: 'oldest' })) {
      builder.add(e);
      count++;
    }
    await this.recordRead(req, 'api.stats', { since: sinceText, buckets: bucketsText }, count);
    return builder.result();
  }

  /** The entry as this reader may see it: content payloads only with `read:content`. */
  private shown(entry: AuditEntry, content: boolean): AuditEntry {
    if (content || entry.content === undefined) return entry;
    const { content: payloads, ...rest } = entry;
    return { ...rest, contentWithheld: Object.keys(payloads) };
  }

  /**
   * Bodies are taken as sent: one compressed (or in any other content coding) is refused with 415
   * before it is read, instead of being parsed as text or, worse, stored as if it were plain.
   */
  private refuseEncoding(req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
    const coding = req.headers['content-encoding']?.trim().toLowerCase();
    if (coding === undefined || coding === '' || coding === 'identity') return undefined;
    void reply.header('connection', 'close').code(415).send({
      error: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'content-encoding: only identity is accepted; send the body uncompressed',
      field: 'content-encoding',
    });
    return reply;
  }

  private sendError(err: unknown, reply: FastifyReply): void {
    if (isAuditError(err)) {
      const body: Record<string, unknown> = { error: err.code, message: err.message };
      if (typeof err.detail.field === 'string') body.field = err.detail.field;
      if (typeof err.detail.index === 'number') body.index = err.detail.index;
      if (err.code === 'BUFFER_FULL' || err.code === 'TRAIL_CLOSED') void reply.header('retry-after', '1');
      void reply.code(err.httpStatus).send(body);
      return;
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 429) {
      void reply.code(429).send({ error: 'RATE_LIMITED', message: 'too many requests; retry later' });
    } else if (status === 413) {
      void reply.code(413).send({ error: 'BODY_TOO_LARGE', message: 'request body too large' });
    } else if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own messages can quote the body (a JSON syntax error does): keep only its code.
      const code = (err as { code?: string }).code ?? 'BAD_REQUEST';
      void reply.code(status).send({ error: code, message: 'bad request' });
    } else {
      void reply.code(500).send({ error: 'INTERNAL', message: 'internal error' });
    }
  }
}
