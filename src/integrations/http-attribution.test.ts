/**
 * Attribution under concurrency, through each framework on a real loopback server: requests from
 * four users interleave (random waits between their events) and no event may carry another
 * request's user, IP, user agent, trace or conversation.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { afterEach, describe, expect, it } from 'vitest';
import { Audit } from '../config/index.js';
import { type AuditEntry, decodeLine } from '../read/index.js';
import { TurnCounter } from './context/index.js';
import { sealtrailExpress } from './express/index.js';
import { sealtrailFastify } from './fastify/index.js';
import { sealtrailHono } from './hono/index.js';

const USERS = [
  { name: 'alice', address: '127.0.0.11', forwarded: '198.51.100.1' },
  { name: 'bob', address: '127.0.0.12', forwarded: '198.51.100.2' },
  { name: 'carol', address: '127.0.0.13', forwarded: '198.51.100.3' },
  { name: 'dave', address: '127.0.0.14', forwarded: '198.51.100.4' },
] as const;
const PER_USER = 6;
/** alice's and bob's connections come through proxies we trust; carol's and dave's do not. */
const TRUST = ['127.0.0.11', '127.0.0.12'];

interface Sent {
  user: (typeof USERS)[number];
  requestId: string;
  traceId: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jitter = () => sleep(Math.floor(Math.random() * 15));

/** The route every framework serves: authenticate, then two events with waits between. */
async function handleChat(
  a: Audit,
  authorization: string | undefined,
  body: { prompt: string },
): Promise<void> {
  a.setUser({ id: String(authorization).replace('Bearer ', ''), authMethod: 'bearer_token' });
  await jitter();
  a.modelCall({ provider: 'test', model: 'echo', prompt: body.prompt, response: 'ok' });
  await jitter();
  a.toolCall({ name: 'lookup', args: { q: body.prompt } });
}

function post(port: number, user: (typeof USERS)[number], n: number): Promise<Sent> {
  const requestId = `${user.name}-${n}`;
  const traceId = randomBytes(16).toString('hex');
  const body = JSON.stringify({ prompt: `question ${n} from ${user.name}` });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/chat',
        method: 'POST',
        localAddress: user.address,
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${user.name}`,
          'user-agent': `agent-${user.name}`,
          'x-request-id': requestId,
          'x-conversation-id': `conv-${user.name}`,
          'x-forwarded-for': `203.0.113.66, ${user.forwarded}`,
          traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve({ user, requestId, traceId })
            : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function runScenario(a: Audit, port: number): Promise<{ sent: Sent[]; events: AuditEntry[] }> {
  const jobs: Promise<Sent>[] = [];
  for (let n = 1; n <= PER_USER; n++) for (const u of USERS) jobs.push(post(port, u, n));
  const sent = await Promise.all(jobs);
  await a.flush();
  return { sent, events: a.memoryStores[0]!.log.lines.map(decodeLine) };
}

function checkAttribution(sent: Sent[], events: AuditEntry[]): void {
  expect(events).toHaveLength(sent.length * 2);
  const byRequest = new Map(sent.map((s) => [s.requestId, s]));
  const turns = new Map<string, Set<number>>();
  for (const e of events) {
    const s = byRequest.get(e.requestId as string);
    expect(s, `event ${e.id} has a request id that was sent`).toBeDefined();
    const { user, traceId } = s!;
    const expectedIp = TRUST.includes(user.address) ? user.forwarded : user.address;
    expect(e.actor).toEqual({
      id: user.name,
      ip: expectedIp,
      userAgent: `agent-${user.name}`,
      authMethod: 'bearer_token',
    });
    expect(e.traceId).toBe(traceId);
    const conv = e.conversation as { id: string; turn: number };
    expect(conv.id).toBe(`conv-${user.name}`);
    const payload =
      e.type === 'model.completion'
        ? e.content?.prompt
        : (e.content?.toolArgs as { q: string } | undefined)?.q;
    expect(payload).toMatch(new RegExp(` from ${user.name}$`));
    const set = turns.get(conv.id) ?? new Set<number>();
    set.add(conv.turn);
    turns.set(conv.id, set);
  }
  // Each request of a conversation got its own turn, 1..n.
  for (const u of USERS)
    expect([...turns.get(`conv-${u.name}`)!].sort((x, y) => x - y)).toEqual(
      Array.from({ length: PER_USER }, (_, i) => i + 1),
    );
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function newAudit(): Promise<Audit> {
  const a = new Audit();
  await a.enable({ env: { NODE_ENV: 'test', SEALTRAIL_QUIET: '1' }, redactPii: false });
  cleanups.push(() => a.disable());
  return a;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

describe('attribution through the HTTP middleware under concurrent requests', () => {
  it.each(['parsers first', 'sealtrail first'] as const)('express (%s)', async (order) => {
    const a = await newAudit();
    const app = express();
    const mw = sealtrailExpress({ trustProxy: TRUST, turns: new TurnCounter() });
    if (order === 'sealtrail first') app.use(mw);
    app.use(express.json());
    if (order === 'parsers first') app.use(mw);
    app.post('/chat', async (req, res) => {
      await handleChat(a, req.headers.authorization, req.body as { prompt: string });
      res.json({ ok: true });
    });
    const server = http.createServer(app);
    const port = await listen(server);
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const { sent, events } = await runScenario(a, port);
    checkAttribution(sent, events);
  });

  it('fastify', async () => {
    const a = await newAudit();
    const app = Fastify();
    await app.register(sealtrailFastify, { trustProxy: TRUST, turns: new TurnCounter() });
    app.post('/chat', async (request) => {
      await handleChat(a, request.headers.authorization, request.body as { prompt: string });
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const { sent, events } = await runScenario(a, (app.server.address() as AddressInfo).port);
    checkAttribution(sent, events);
  });

  it('hono on @hono/node-server', async () => {
    const a = await newAudit();
    const app = new Hono();
    app.use(sealtrailHono({ trustProxy: TRUST, turns: new TurnCounter() }));
    app.post('/chat', async (c) => {
      await handleChat(a, c.req.header('authorization'), await c.req.json());
      return c.json({ ok: true });
    });
    const port = await new Promise<number>((resolve) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(info.port),
      );
      cleanups.push(() => new Promise((r) => server.close(() => r())));
    });
    const { sent, events } = await runScenario(a, port);
    checkAttribution(sent, events);
  });
});

/** Sends a request that the client gives up on once the server has answered its headers. */
function abandon(port: number, path: string, requestId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, agent: false, headers: { 'x-request-id': requestId } },
      (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Waits until `a` holds `n` entries, and returns them. */
async function entries(a: Audit, n: number): Promise<AuditEntry[]> {
  for (let i = 0; i < 200; i++) {
    await a.flush();
    const lines = a.memoryStores[0]!.log.lines;
    if (lines.length >= n) return lines.map(decodeLine);
    await sleep(10);
  }
  throw new Error(`expected ${n} entries`);
}

describe('when the client goes away mid-response', () => {
  /** Writes until the client leaves, then records it from the listener the route added. */
  const gone = (a: Audit) => () => {
    a.toolCall({ name: 'client-gone', args: {} });
  };

  async function check(a: Audit, port: number): Promise<void> {
    await abandon(port, '/slow', 'req-gone');
    const [e] = await entries(a, 1);
    expect(e).toMatchObject({ requestId: 'req-gone', actor: { id: 'alice', ip: '127.0.0.1' } });
  }

  it('express runs the close listener in the request context', async () => {
    const a = await newAudit();
    const app = express();
    app.use(sealtrailExpress());
    app.get('/slow', (req, res) => {
      a.setUser({ id: 'alice' });
      req.on('close', gone(a));
      res.write('first');
    });
    const server = http.createServer(app);
    const port = await listen(server);
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    await check(a, port);
  });

  it('fastify runs the close listener in the request context', async () => {
    const a = await newAudit();
    const app = Fastify();
    await app.register(sealtrailFastify);
    app.get('/slow', (request, reply) => {
      a.setUser({ id: 'alice' });
      request.raw.on('close', gone(a));
      reply.hijack();
      reply.raw.write('first');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    await check(a, (app.server.address() as AddressInfo).port);
  });

  it("hono runs a stream's onAbort in the request context", async () => {
    const a = await newAudit();
    const app = new Hono();
    app.use(sealtrailHono());
    app.get('/slow', (c) => {
      a.setUser({ id: 'alice' });
      return stream(c, async (s) => {
        s.onAbort(gone(a));
        await s.write('first');
        while (!s.aborted) await sleep(5);
      });
    });
    const port = await new Promise<number>((resolve) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(info.port),
      );
      cleanups.push(() => new Promise((r) => server.close(() => r())));
    });
    await check(a, port);
  });
});

describe('express with a body parser that resumes the chain from the request stream', () => {
  it('attributes what the route records', async () => {
    const a = await newAudit();
    const app = express();
    app.use(sealtrailExpress());
    app.use((req, _res, next) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        req.body = body;
        next();
      });
    });
    app.post('/chat', (req, res) => {
      a.toolCall({ name: 'echo', args: { body: req.body as string } });
      res.end();
    });
    const server = http.createServer(app);
    const port = await listen(server);
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    await post(port, USERS[0], 1);
    const [e] = await entries(a, 1);
    expect(e).toMatchObject({ requestId: 'alice-1', actor: { ip: '127.0.0.11' } });
  });
});

describe('middleware options', () => {
  it('refuse a bad trustProxy naming it', () => {
    expect(() => sealtrailExpress({ trustProxy: ['not an ip'] })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^trustProxy\[0\]/) }),
    );
    expect(() => sealtrailHono({ trustProxy: -2 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
