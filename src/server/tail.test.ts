/**
 * Live tails over a real collector on loopback: the per-token and total limits answer 429 and a
 * closed tail frees its slot; closing the collector ends open tails and connections that never
 * sent a request; and a tail to a slow reader waits for the socket to drain without leaving a
 * listener behind per wait (a LiveTail on a plain Node HTTP server with a reader that lags).
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../read/index.js';
import { Collector } from './collector.js';
import { LiveTail } from './tail.js';
import { createToken } from './tokens.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-tail-'));
let collector: Collector;
let base: string;
let alice: string;
let bob: string;
let ops: string;
/**
 * Tails opened by the tests, aborted at the end. The responses are kept too: fetch cancels the
 * body of a response that is garbage-collected unread, which would close a tail behind the test.
 */
const open: Array<{ ctl: AbortController; res?: Response }> = [];

async function openTail(token: string): Promise<{ status: number; body: unknown; ctl: AbortController }> {
  const ctl = new AbortController();
  const res = await fetch(`${base}/v1/tail`, {
    headers: { authorization: `Bearer ${token}` },
    signal: ctl.signal,
  });
  open.push({ ctl, res });
  // A refused tail answers JSON; an open one streams (its body is left to the abort).
  const body = res.status === 200 ? undefined : await res.json();
  return { status: res.status, body, ctl };
}

beforeAll(async () => {
  const dir = path.join(tmp, 'audit');
  alice = createToken(dir, { name: 'alice', scopes: ['read'] }).token;
  bob = createToken(dir, { name: 'bob', scopes: ['read'] }).token;
  ops = createToken(dir, { name: 'ops', scopes: ['admin'] }).token;
  collector = await Collector.open({ dir, tails: { perToken: 2, total: 3 } });
  base = (await collector.listen({ port: 0 })).url;
});

afterAll(async () => {
  for (const { ctl } of open) ctl.abort();
  await collector.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('GET /v1/tail limits', () => {
  it('answers 429 TOO_MANY_TAILS past the per-token and total limits, and a closed tail frees its slot', async () => {
    const a1 = await openTail(alice);
    const a2 = await openTail(alice);
    expect([a1.status, a2.status]).toEqual([200, 200]);
    const a3 = await openTail(alice);
    expect(a3.status).toBe(429);
    expect(a3.body).toMatchObject({ error: 'TOO_MANY_TAILS', limit: 'perToken' });
    // Another token still has room, up to the collector's total of 3.
    const b1 = await openTail(bob);
    expect(b1.status).toBe(200);
    const b2 = await openTail(bob);
    expect(b2.status).toBe(429);
    expect(b2.body).toMatchObject({ error: 'TOO_MANY_TAILS', limit: 'total' });
    // Closing one of alice's tails frees a slot (once the collector has seen the connection close).
    a1.ctl.abort();
    await expect
      .poll(async () => {
        const again = await openTail(alice);
        return again.status;
      })
      .toBe(200);
    const metrics = await (
      await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ops}` } })
    ).text();
    expect(metrics).toMatch(/^sealtrail_tails_open 3$/m);
    expect(metrics).toMatch(/^sealtrail_tails_refused_total [2-9]\d*$/m);
  });
});

describe('GET /v1/tail when the client leaves while the tail opens', () => {
  it('frees the slot and stops polling', async () => {
    const dir = path.join(tmp, 'leaving');
    const token = createToken(dir, { name: 'leaver', scopes: ['read'] }).token;
    const admin = createToken(dir, { name: 'leaver-ops', scopes: ['admin'] }).token;
    const c = await Collector.open({ dir, tails: { perToken: 2, total: 2 } });
    try {
      const { url, port } = await c.listen({ port: 0 });
      // Each client sends its request and goes at once, while the tail's opening read is recorded.
      for (let i = 0; i < 3; i++) {
        const socket = net.connect(port, '127.0.0.1');
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        socket.write(`GET /v1/tail HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`);
        socket.destroy();
      }
      const tailsOpen = async () => {
        const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${admin}` } });
        return /^sealtrail_tails_open (\d+)$/m.exec(await res.text())?.[1];
      };
      await expect.poll(tailsOpen, { timeout: 5000 }).toBe('0');
      const res = await fetch(`${url}/v1/tail`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      await res.body?.cancel();
    } finally {
      await c.close();
    }
  });
});

describe('Collector.close', () => {
  it('ends the open tails, records their end, and closes connections that never sent a request', async () => {
    const dir = path.join(tmp, 'closing');
    const token = createToken(dir, { name: 'closer', scopes: ['read'] }).token;
    const c = await Collector.open({ dir });
    const { url, port } = await c.listen({ port: 0 });
    const res = await fetch(`${url}/v1/tail`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    c.trail.emit({ type: 'tool.call', actor: { id: 'during-tail' } });
    let text = '';
    while (!text.includes('data: ')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    // A client's spare connection, opened ahead of need: no request is ever sent on it.
    const spare = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => spare.once('connect', resolve));
    let spareClosed = false;
    spare.on('close', () => {
      spareClosed = true;
    });
    spare.on('error', () => {});
    await c.close();
    expect(spareClosed || spare.destroyed || spare.readableEnded).toBe(true);
    // The tail's stream ended rather than hanging.
    let ended = false;
    for (;;) {
      const { done } = await reader.read().catch(() => ({ done: true }));
      if (done) {
        ended = true;
        break;
      }
    }
    expect(ended).toBe(true);
    const ends: unknown[] = [];
    for await (const e of query(dir, { type: 'audit.read', action: 'api.tail.end' })) ends.push(e);
    expect(ends).toHaveLength(1);
  });
});

describe('LiveTail', () => {
  it('waits for a slow reader to drain without keeping a listener per wait', async () => {
    const entry = 'x'.repeat(32 * 1024);
    const count = 300;
    let tail: LiveTail<string> | undefined;
    let before = 0;
    let most = 0;
    let ended = -1;
    const server = http.createServer((_req, res) => {
      tail = new LiveTail<string>(res, 0, {
        pollMs: 10,
        endSeq: async () => count,
        read: async function* (from, to) {
          for (let i = from; i < to; i++) yield entry;
        },
        show: (e) => {
          most = Math.max(most, tail!.listenerCount());
          return JSON.stringify(e);
        },
        ended: (sent) => {
          ended = sent;
        },
      });
      before = tail.listenerCount();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          res.on('data', (chunk: Buffer) => {
            received += chunk.toString().split('data: ').length - 1;
            // A reader slower than the writer: pause on each chunk.
            res.pause();
            setTimeout(() => res.resume(), 1);
            if (received >= count) {
              res.destroy();
              resolve();
            }
          });
        })
        .on('error', reject);
    });
    await tail!.stop();
    server.close();
    expect(received).toBeGreaterThanOrEqual(count);
    expect(tail!.drainWaits).toBeGreaterThan(0);
    // Whatever the number of waits, the tail holds no more listeners than when it started.
    expect(most).toBeLessThanOrEqual(before);
    expect(ended).toBeGreaterThan(0);
  });
});
