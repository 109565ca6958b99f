/**
 * `npm run bench:archive`: the S3 archive against a local S3-API server on loopback
 * (@20minutes/s3rver, which stores objects as files): a trail of BENCH_ARCHIVE_N entries (default
 * 100,000 of the ~1 KB AI records of bench/records.ts) in 8 MiB segments is pushed, pushed again
 * (nothing to upload: one HEAD per object), verified whole from S3, one segment verified from S3,
 * and, as the peer, the same trail verified from its directory (`verifyDir`). Each number is the
 * wall time of one run; the machine is printed with them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseS3Url, pushArchive, verifyArchive } from '../src/archive/index.js';
import { AuditTrail, verifyDir } from '../src/index.js';
import { DirSource } from '../src/store/index.js';
import { startLocalS3 } from '../src/test-support/s3-server.js';
import { aiEvent } from './records.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const N = Number(process.env.BENCH_ARCHIVE_N ?? 100_000);

async function timed<T>(label: string, fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  const ms = performance.now() - t;
  process.stderr.write(`${label}: ${(ms / 1000).toFixed(2)} s\n`);
  return { ms, value };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-bench-archive-'));
const dir = path.join(root, 'audit');
const s3 = await startLocalS3(['bench']);
try {
  const events = Array.from({ length: 1000 }, (_, i) => aiEvent(i));
  await timed(`write ${N} entries`, async () => {
    const trail = await AuditTrail.open({ dir, handleExit: false, maxSegmentBytes: 8 * 1024 * 1024 });
    for (let i = 0; i < N; i++) {
      trail.emit(events[i % 1000]!);
      if (i % 10_000 === 9_999) await trail.flush();
    }
    await trail.close();
  });
  const sealed = new DirSource(dir).segments().flatMap((s) => (s.summary === undefined ? [] : [s.summary]));
  const bytes = sealed.reduce((a, s) => a + s.bytes, 0);
  const target = parseS3Url('s3://bench/trail');
  const s3opts = { endpoint: s3.endpoint, credentials: s3.credentials };
  const push = await timed('archive push', () =>
    pushArchive(dir, target, { s3: s3opts, lock: { mode: 'none' } }),
  );
  const again = await timed('archive push again', () => pushArchive(dir, target, { s3: s3opts }));
  const fromS3 = await timed('verify --from-s3', () => verifyArchive(target, { s3: s3opts }));
  const mid = sealed[Math.floor(sealed.length / 2)]!;
  const ranged = await timed('verify --from-s3 one segment', () =>
    verifyArchive(target, { s3: s3opts, fromSeq: mid.firstSeq, toSeq: mid.lastSeq }),
  );
  const local = await timed('verify --dir (peer)', () => verifyDir(dir));
  if (!fromS3.value.ok || !ranged.value.ok || !local.value.ok) throw new Error('verification failed');
  const mb = bytes / 1024 / 1024;
  const result = {
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    entries: fromS3.value.entries,
    sealedSegments: sealed.length,
    archivedMiB: Number(mb.toFixed(1)),
    objects: push.value.pushed,
    pushSeconds: Number((push.ms / 1000).toFixed(2)),
    pushMiBps: Number((mb / (push.ms / 1000)).toFixed(1)),
    repushSeconds: Number((again.ms / 1000).toFixed(2)),
    verifyFromS3Seconds: Number((fromS3.ms / 1000).toFixed(2)),
    verifyFromS3EntriesPerSecond: Math.round(fromS3.value.entries / (fromS3.ms / 1000)),
    verifyOneSegmentSeconds: Number((ranged.ms / 1000).toFixed(2)),
    verifyDirSeconds: Number((local.ms / 1000).toFixed(2)),
    verifyDirEntriesPerSecond: Math.round(local.value.entries / (local.ms / 1000)),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await s3.close();
  fs.rmSync(root, { recursive: true, force: true });
}
