import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsistencyProof, TileTree } from '../chain/index.js';
import { verifyDir } from '../read/index.js';
import { createToken } from '../server/index.js';
import { DirSource } from '../store/index.js';
import { tempDir } from '../test-support/fixtures.js';
import { type LocalS3, startLocalS3 } from '../test-support/s3-server.js';
import {
  copyTrail,
  recordEvents,
  restoreTrail,
  startWitnessCollector,
} from '../test-support/witness-fixtures.js';
import { readWitnessed } from './against.js';
import type { WitnessOptions } from './open-witness.js';
import { pushToWitnesses } from './push.js';

let s3: LocalS3;
let collector: Awaited<ReturnType<typeof startWitnessCollector>>;
const roots: string[] = [];
let n = 0;

beforeAll(async () => {
  s3 = await startLocalS3(['witness']);
  collector = await startWitnessCollector();
});
afterAll(async () => {
  await s3.close();
  await collector.close();
});
afterEach(() => {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
});

function scratch(): string {
  const r = tempDir();
  roots.push(r);
  return r;
}

/** Three witnesses of three kinds, fresh for each test (the collector keys them by origin, so one origin per test). */
function witnesses(): { specs: string[]; options: WitnessOptions; origin: string } {
  n++;
  return {
    specs: [`s3://witness/w${n}`, path.join(scratch(), 'other-volume'), collector.url],
    options: { s3: { endpoint: s3.endpoint, credentials: s3.credentials }, token: collector.token },
    origin: `example.test/witnessed-${n}`,
  };
}

async function trail(origin: string, events: number, tag = 'a'): Promise<string> {
  const dir = path.join(scratch(), 'audit');
  await recordEvents(dir, events, tag, origin);
  return dir;
}

async function against(dir: string, specs: string[], options: WitnessOptions) {
  const origin = new DirSource(dir).meta.origin;
  const witnessed = (await Promise.all(specs.map((s) => readWitnessed(s, origin, options)))).flat();
  return verifyDir(dir, { witnessed });
}

describe('pushToWitnesses', () => {
  it('pushes every checkpoint to an S3, a directory and a collector witness, and the trail verifies against each', async () => {
    const w = witnesses();
    const dir = await trail(w.origin, 4);
    const sizes = new Set(
      new DirSource(dir)
        .checkpoints()
        .map((c) => c.size)
        .filter((s) => s > 0),
    );
    const reports = await pushToWitnesses(dir, w.specs, w.options);
    expect(reports.map((r) => r.pushed)).toEqual([sizes.size, sizes.size, sizes.size]);
    expect(reports.map((r) => r.latest)).toEqual([4, 4, 4]);
    const file = path.join(w.specs[1]!, 'checkpoints', `${'4'.padStart(20, '0')}.note`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    for (const spec of w.specs) {
      const report = await against(dir, [spec], w.options);
      expect(report.failure).toBeUndefined();
      expect(report.against.map((a) => a.size).sort()).toEqual([...sizes].sort());
    }
  });

  it('pushes nothing twice, and only the newer checkpoints after the trail grew (the collector checks their consistency proofs)', async () => {
    const w = witnesses();
    const dir = await trail(w.origin, 2);
    await pushToWitnesses(dir, w.specs, w.options);
    const again = await pushToWitnesses(dir, w.specs, w.options);
    expect(again.map((r) => [r.pushed, r.held, r.latest])).toEqual([
      [0, 2, 2],
      [0, 2, 2],
      [0, 2, 2],
    ]);
    await recordEvents(dir, 3, 'b', w.origin);
    const reports = await pushToWitnesses(dir, w.specs, w.options);
    expect(reports.map((r) => r.pushed)).toEqual([3, 3, 3]);
    expect(reports.map((r) => r.latest)).toEqual([5, 5, 5]);
  });

  it('refuses to push a forked trail: WITNESS_CONFLICT naming the fork', async () => {
    const w = witnesses();
    const a = await trail(w.origin, 3);
    const b = path.join(scratch(), 'fork');
    copyTrail(a, b);
    await recordEvents(a, 2, 'a', w.origin);
    await recordEvents(b, 2, 'b', w.origin);
    await pushToWitnesses(a, w.specs, w.options);
    for (const spec of w.specs) {
      await expect(pushToWitnesses(b, [spec], w.options)).rejects.toMatchObject({
        code: 'WITNESS_CONFLICT',
        message: expect.stringContaining('fork'),
      });
    }
  });
});

describe('verify against witnesses', () => {
  it('reports a fork: two trails with the same origin and key', async () => {
    const w = witnesses();
    const a = await trail(w.origin, 3);
    const b = path.join(scratch(), 'fork');
    copyTrail(a, b);
    await recordEvents(a, 2, 'a', w.origin);
    await recordEvents(b, 2, 'b', w.origin);
    await pushToWitnesses(a, w.specs, w.options);
    expect((await against(a, w.specs, w.options)).ok).toBe(true);
    for (const spec of w.specs) {
      const report = await against(b, [spec], w.options);
      expect(report.ok).toBe(false);
      expect(report.failure?.code).toBe('ROOT_MISMATCH');
      expect(report.failure?.message).toMatch(/^fork: /);
    }
  });

  it('reports a rollback: an older state presented after a newer witnessed checkpoint', async () => {
    const w = witnesses();
    const dir = await trail(w.origin, 3);
    const backup = path.join(scratch(), 'backup');
    copyTrail(dir, backup);
    await recordEvents(dir, 2, 'a', w.origin);
    await pushToWitnesses(dir, w.specs, w.options);
    restoreTrail(backup, dir);
    expect(verifyDir(dir).ok).toBe(true); // on its own, the older state is a valid trail
    for (const spec of w.specs) {
      const report = await against(dir, [spec], w.options);
      expect(report.ok).toBe(false);
      expect(report.failure?.code).toBe('TREE_SIZE_MISMATCH');
      expect(report.failure?.message).toMatch(/^rollback: .* covers [45] entries but the log has 3 /);
    }
  });

  it('fails with NOT_FOUND for a witness that holds nothing for the trail, STORE_IO for a missing directory', async () => {
    await expect(readWitnessed(path.join(scratch(), 'absent'), 'o')).rejects.toMatchObject({
      code: 'STORE_IO',
    });
    const w = witnesses();
    fs.mkdirSync(w.specs[1]!);
    for (const spec of w.specs)
      await expect(readWitnessed(spec, w.origin, w.options)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('names why a collector witness cannot be reached (not "TypeError")', async () => {
    await expect(readWitnessed('http://127.0.0.1:1/x', 'o')).rejects.toMatchObject({
      code: 'STORE_IO',
      message: 'witness http://127.0.0.1:1/x: bad port',
    });
  });
});

describe('the collector as a witness', () => {
  async function post(body: unknown, token = collector.token) {
    const res = await fetch(`${collector.url}/v1/witness/checkpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { error?: string; message?: string; status?: string },
    };
  }
  const latest = (dir: string) => new DirSource(dir).checkpoints().at(-1)!;
  const vkey = (dir: string) => new DirSource(dir).meta.verifierKey;

  it('refuses a fork, a rollback, a missing consistency proof and another key with 409 WITNESS_CONFLICT', async () => {
    const w = witnesses();
    const a = await trail(w.origin, 3);
    const b = path.join(scratch(), 'fork');
    copyTrail(a, b);
    await recordEvents(a, 2, 'a', w.origin);
    await recordEvents(b, 2, 'b', w.origin);
    // Held: size 3 only.
    const at3 = new DirSource(a).checkpoints().find((c) => c.size === 3)!;
    expect((await post({ verifierKey: vkey(a), note: at3.note })).status).toBe(201);
    expect((await post({ verifierKey: vkey(a), note: at3.note })).body.status).toBe('present');
    // A newer checkpoint without its proof, then with a proof from the fork's tree.
    const noProof = await post({ verifierKey: vkey(a), note: latest(a).note, proof: [] });
    expect(noProof.status).toBe(409);
    expect(noProof.body.error).toBe('WITNESS_CONFLICT');
    const treeB = TileTree.open(path.join(b, 'tree'), { readOnly: true });
    const proofB = buildConsistencyProof(treeB, 3, 5).map((h) => h.toString('base64'));
    treeB.close();
    const treeA = TileTree.open(path.join(a, 'tree'), { readOnly: true });
    const proofA = buildConsistencyProof(treeA, 3, 5).map((h) => h.toString('base64'));
    treeA.close();
    // The fork's size-5 checkpoint is consistent with size 3 (they share it): accepted first...
    expect((await post({ verifierKey: vkey(b), note: latest(b).note, proof: proofB })).status).toBe(201);
    // ...and then the other history at the same size is a fork.
    const fork = await post({ verifierKey: vkey(a), note: latest(a).note, proof: proofA });
    expect(fork.status).toBe(409);
    expect(fork.body.message).toMatch(/^fork: /);
    const rollback = await post({ verifierKey: vkey(a), note: at3.note });
    expect(rollback.status).toBe(409);
    expect(rollback.body.message).toMatch(/^rollback: /);
    // Another trail claiming the same origin with its own key.
    const other = await trail(w.origin, 6, 'x');
    const stranger = await post({ verifierKey: vkey(other), note: latest(other).note });
    expect(stranger.status).toBe(409);
    expect(stranger.body.message).toContain('another verifier key');
    // What it holds: sizes 3 and 5 (the fork's, accepted first); latest=1 only the newest.
    const get = async (q: string) =>
      (await (
        await fetch(`${collector.url}/v1/witness/checkpoints?origin=${encodeURIComponent(w.origin)}${q}`, {
          headers: { authorization: `Bearer ${collector.token}` },
        })
      ).json()) as { count: number; checkpoints: Array<{ size: number; note: string }> };
    expect((await get('')).checkpoints.map((c) => c.size)).toEqual([3, 5]);
    const newest = await get('&latest=1');
    expect(newest.count).toBe(2);
    expect(newest.checkpoints.map((c) => c.note)).toEqual([latest(b).note]);
  });

  it('keeps an origin for the token that first pushed it: another witness token gets 409', async () => {
    const w = witnesses();
    const a = await trail(w.origin, 2);
    const { token: other } = createToken(collector.dir, { name: 'other-pusher', scopes: ['witness'] });
    await new Promise((r) => setTimeout(r, 1100)); // the collector reloads its token file once a second
    const first = new DirSource(a).checkpoints()[0]!;
    expect((await post({ verifierKey: vkey(a), note: first.note }, other)).status).toBe(201);
    const claimed = await post({ verifierKey: vkey(a), note: latest(a).note }, collector.token);
    expect(claimed.status).toBe(409);
    expect(claimed.body.message).toContain('witnessed for another token');
  });

  it('answers 400 naming the field for a malformed offer, and 401 without a valid token', async () => {
    const bad = await post({ verifierKey: 'x', note: 'y', proof: ['not base64'] });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('proof.0');
    expect((await post({ note: 'y' })).body.message).toContain('verifierKey');
    expect((await post({ verifierKey: 'x', note: 'y' }, 'nope')).status).toBe(401);
  });
});
