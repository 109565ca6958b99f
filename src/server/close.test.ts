/**
 * Closing a collector on loopback: a connection that holds a half-sent request does not hold the
 * close forever; the close ends it after the grace period, and everything emitted is durable.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyDir } from '../read/verify-dir.js';
import { Collector } from './collector.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-close-'));

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('Collector.close', () => {
  it('ends a connection that holds a half-sent request, and keeps what was emitted', async () => {
    const dir = path.join(tmp, 'audit');
    const collector = await Collector.open({ dir });
    const { port } = await collector.listen({ port: 0, host: '127.0.0.1' });
    const socket = net.connect(port, '127.0.0.1');
    // The server resets the connection: that is the point, not a failure.
    socket.on('error', (err: NodeJS.ErrnoException) => expect(err.code).toBe('ECONNRESET'));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // The request head never ends: to the server, a request is in progress on this connection.
    socket.write('GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    collector.trail.emit({ type: 'auth.success', actor: { id: 'u1' } });
    await collector.close();
    await ended;
    expect(socket.destroyed).toBe(true);
    const report = verifyDir(dir);
    expect(report.ok).toBe(true);
    expect(report.entries).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
