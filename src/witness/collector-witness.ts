/**
 * A witness that is another collector (`sealtrail serve`): checkpoints are POSTed to
 * `/v1/witness/checkpoints` with a consistency proof from the newest one it holds, and it refuses
 * a rollback or a fork itself (see accept.ts); GET lists what it holds, page after page.
 * Authenticated with a bearer token of scope `witness` (`SEALTRAIL_WITNESS_TOKEN`; it lists only
 * the origins it pushed) or `read`; the token is never in a message.
 */
import { AuditError } from '../errors.js';
import type { CheckpointToStore, Witness, WitnessedCheckpoint } from './witness.js';

const PATH = '/v1/witness/checkpoints';

/** The fields of the collector's answers this client reads. */
interface Answer {
  error?: unknown;
  message?: unknown;
  status?: unknown;
  checkpoints?: unknown;
  count?: unknown;
  nextAfter?: unknown;
}

/** A collector reached over HTTP(S). */
export class CollectorWitness implements Witness {
  readonly name: string;
  private readonly base: string;

  /** @throws AuditError USAGE when `url` is not an http(s) URL or carries credentials. */
  constructor(
    url: string,
    private readonly token: string | undefined,
  ) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new AuditError('USAGE', 'witness: not a URL', { field: 'witness' });
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username !== '' || u.password !== '')
      throw new AuditError('USAGE', 'witness: expected an http(s) URL without credentials', {
        field: 'witness',
      });
    this.base = u.toString().replace(/\/+$/, '');
    this.name = this.base;
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  private async request(
    method: 'GET' | 'POST',
    query: string,
    body?: unknown,
  ): Promise<{ status: number; json: Answer | undefined }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${PATH}${query}`, {
        method,
        headers:
          body === undefined ? this.headers() : { ...this.headers(), 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      // the cause's code (ECONNREFUSED) or its short message ("bad port"); fetch's own message
      // says only "fetch failed"
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      const reason =
        typeof cause?.code === 'string'
          ? cause.code
          : typeof cause?.message === 'string'
            ? cause.message.replace(/[^\x20-\x7e]/g, ' ').slice(0, 80)
            : (err as Error).name;
      throw new AuditError('STORE_IO', `witness ${this.name}: ${reason}`);
    }
    let json: Answer | undefined;
    try {
      json = (await res.json()) as Answer;
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  }

  private fail(status: number, json: Answer | undefined): never {
    const message = typeof json?.message === 'string' ? `: ${json.message}` : '';
    if (status === 409 && json?.error === 'WITNESS_CONFLICT')
      throw new AuditError('WITNESS_CONFLICT', `witness ${this.name} refused the checkpoint${message}`);
    throw new AuditError('STORE_IO', `witness ${this.name}: HTTP ${status}${message}`, { status });
  }

  async held(origin: string): Promise<WitnessedCheckpoint[]> {
    const out: WitnessedCheckpoint[] = [];
    let page = '&limit=1000';
    // The collector answers in pages; `nextAfter` is the size to continue after, null on the last.
    for (;;) {
      const { status, json } = await this.request('GET', `?origin=${encodeURIComponent(origin)}${page}`);
      if (status === 404 && json?.error === 'NOT_FOUND') return out;
      if (status !== 200 || !Array.isArray(json?.checkpoints)) this.fail(status, json);
      out.push(...this.checkpoints(json!.checkpoints as unknown[]));
      const next = json!.nextAfter;
      if (typeof next !== 'number' || !Number.isSafeInteger(next)) return out;
      page = `&limit=1000&after=${next}`;
    }
  }

  async newest(origin: string): Promise<{ checkpoint: WitnessedCheckpoint | undefined; count: number }> {
    const { status, json } = await this.request('GET', `?origin=${encodeURIComponent(origin)}&latest=1`);
    if (status === 404 && json?.error === 'NOT_FOUND') return { checkpoint: undefined, count: 0 };
    if (status !== 200 || !Array.isArray(json?.checkpoints)) this.fail(status, json);
    const [c] = this.checkpoints(json!.checkpoints as unknown[]);
    return { checkpoint: c, count: typeof json!.count === 'number' ? json!.count : c === undefined ? 0 : 1 };
  }

  private checkpoints(list: unknown[]): WitnessedCheckpoint[] {
    return (list as Array<{ size: unknown; note: unknown }>)
      .filter((c) => typeof c.size === 'number' && typeof c.note === 'string')
      .map((c) => ({
        size: c.size as number,
        note: c.note as string,
        source: `${this.name} (size ${c.size})`,
      }));
  }

  async store(cp: CheckpointToStore): Promise<'stored' | 'present'> {
    const { status, json } = await this.request('POST', '', {
      verifierKey: cp.verifierKey,
      note: cp.note,
      proof: cp.proof.map((h) => h.toString('base64')),
    });
    if ((status === 200 || status === 201) && (json?.status === 'stored' || json?.status === 'present'))
      return json!.status as 'stored' | 'present';
    this.fail(status, json);
  }

  close(): void {}
}
