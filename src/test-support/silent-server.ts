/**
 * A model provider that never answers, on loopback: it reads each request body and then holds the
 * connection open, sending nothing, until the client goes away or the server is closed. Tests use
 * it to see what the AI integrations have recorded while a call hangs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running silent server. */
export interface SilentServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The JSON body of the next request to arrive (or of one that arrived and was not taken yet). */
  nextRequest(): Promise<unknown>;
  /** Stops the server and drops every held connection. */
  close(): Promise<void>;
}

/** Starts a {@link SilentServer} on a free loopback port. */
export async function startSilentServer(): Promise<SilentServer> {
  const arrived: unknown[] = [];
  const waiting: Array<(body: unknown) => void> = [];
  const server = http.createServer((req, _res) => {
    let text = '';
    req.on('data', (d) => {
      text += d;
    });
    req.on('end', () => {
      const body = text === '' ? undefined : (JSON.parse(text) as unknown);
      const taker = waiting.shift();
      if (taker !== undefined) taker(body);
      else arrived.push(body);
      // no answer: the response is never written
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    nextRequest: () =>
      arrived.length > 0 ? Promise.resolve(arrived.shift()) : new Promise((r) => waiting.push(r)),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
