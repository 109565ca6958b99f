/**
 * Ends the collector's connections on close. Node's `server.close()` (and Fastify's, which calls
 * it) closes the keep-alive connections that are idle after an answer, but not one a client has
 * opened and not yet sent a request on (HTTP clients and browsers open spare connections ahead of
 * need) nor a TLS connection still in its handshake: those held `close()` open until the
 * server's headers timeout, a minute (measured on Node 20). Here every connection without a
 * request in flight is destroyed once closing starts, and every other one as soon as its last
 * answer is sent, so a request in flight (an ingest waiting for its sync) still gets its answer.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** The connections of one server and the requests in flight on them. */
export class ConnectionTracker {
  /** Every accepted connection (for TLS, the TCP socket under it). */
  private readonly sockets = new Set<Socket>();
  private inFlight = 0;
  private closing = false;

  /** Starts tracking `server`'s connections (before it listens). */
  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('request', (_req, res) => {
      this.inFlight++;
      res.once('close', () => {
        this.inFlight--;
        if (this.closing && this.inFlight === 0) this.destroyAll();
      });
    });
  }

  /** Requests whose answer is not yet sent (or whose stream has not yet ended). */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /**
   * From now on, refuses new connections and ends every connection as soon as no request is in
   * flight (at once when none is). Call it when the server starts closing.
   */
  startClosing(): void {
    this.closing = true;
    if (this.inFlight === 0) this.destroyAll();
  }

  private destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}
