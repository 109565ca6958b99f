/**
 * `npm run bench:postgres`: sustained writing into a local PostgreSQL that the bench starts itself
 * (initdb + pg_ctl in a temporary directory, fsync on, as the tests do), in one run:
 *
 * - sealtrail: `AuditTrail.open({ postgres })`, ~1 KB AI events emitted for BENCH_SECONDS
 *   (default 10) in chunks of 1000; each chunk's durability (emit → flush resolved) is timed.
 *   The rows of one commit share a transaction id, which gives the group-commit batch sizes.
 * - peer: the same events as JSON text, multi-row INSERTs of 1000 rows (one transaction each)
 *   into a bare table with `pg`, no hashing, chain, tree, signing or sealing.
 *
 * Then the sealtrail log is verified. Figures: events/s, batch sizes, p50/p99 of the chunk
 * durability (sealtrail) and of one INSERT statement (peer).
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { verifyDir } from '../src/read/index.js';
import { PgSource } from '../src/store/postgres/index.js';
import { startPostgres } from '../src/test-support/postgres.js';
import { AuditTrail } from '../src/writer/index.js';
import { aiEvent } from './records.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CHUNK = 1000;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const server = await startPostgres({ shared_buffers: '256MB' });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-bench-pg-'));
try {
  const url = await server.createDatabase('bench');
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log(
    `postgres: ${(await server.sql('bench', 'SHOW server_version')).rows[0].server_version}, local, fsync on`,
  );

  // --- sealtrail
  const trail = await AuditTrail.open({
    postgres: { url, log: 'bench', keysDir: path.join(tmp, 'keys') },
    handleExit: false,
    checkpointIntervalMs: 1000,
  });
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let emitted = 0;
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  while (performance.now() < deadline) {
    const start = performance.now();
    for (let i = 0; i < CHUNK; i++) trail.emit(aiEvent(emitted + i));
    emitted += CHUNK;
    pending.push(trail.flush().then(() => void latencies.push(performance.now() - start)));
    // At most 10 chunks in flight: the queue stays short, so the latency is the commit's, not a backlog's.
    if (pending.length >= 10) await pending.shift();
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(pending);
  const sealSecs = (performance.now() - t0) / 1000;
  await trail.close();
  latencies.sort((a, b) => a - b);
  const batches = (
    await server.sql(
      'bench',
      'SELECT count(*)::int AS n FROM sealtrail.entries GROUP BY xmin::text::bigint ORDER BY 1',
    )
  ).rows.map((r) => r.n as number);
  const stored = batches.reduce((a, b) => a + b, 0);
  const v0 = performance.now();
  const source = new PgSource(url, 'bench');
  const report = verifyDir(source);
  source.close();
  const verifySecs = (performance.now() - v0) / 1000;

  // --- peer: bare multi-row INSERT of the same JSON
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE bare (id bigserial PRIMARY KEY, doc text NOT NULL)');
  const placeholders = Array.from({ length: CHUNK }, (_, i) => `($${i + 1})`).join(',');
  const peerLat: number[] = [];
  let inserted = 0;
  const p0 = performance.now();
  const peerDeadline = p0 + SECONDS * 1000;
  while (performance.now() < peerDeadline) {
    const start = performance.now();
    const docs = Array.from({ length: CHUNK }, (_, i) => JSON.stringify(aiEvent(inserted + i)));
    await client.query(`INSERT INTO bare (doc) VALUES ${placeholders}`, docs);
    peerLat.push(performance.now() - start);
    inserted += CHUNK;
  }
  const peerSecs = (performance.now() - p0) / 1000;
  await client.end();
  peerLat.sort((a, b) => a - b);

  const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');
  console.log(
    `sealtrail on postgres: ${stored.toLocaleString('en-US')} events in ${sealSecs.toFixed(1)} s = ${rate(stored, sealSecs)} events/s; ` +
      `${batches.length} commits, batch size median ${pct(batches, 50)}, max ${batches.at(-1)}; ` +
      `chunk of ${CHUNK} durable p50 ${pct(latencies, 50).toFixed(0)} ms, p99 ${pct(latencies, 99).toFixed(0)} ms`,
  );
  console.log(
    `peer, bare multi-row INSERT (${CHUNK} rows, no hashing): ${inserted.toLocaleString('en-US')} rows in ${peerSecs.toFixed(1)} s = ${rate(inserted, peerSecs)} rows/s; ` +
      `statement p50 ${pct(peerLat, 50).toFixed(0)} ms, p99 ${pct(peerLat, 99).toFixed(0)} ms`,
  );
  console.log(
    `verify of the sealtrail log: ${report.ok ? 'ok' : `FAILED ${report.failure?.code}`}, ${report.entries.toLocaleString('en-US')} entries in ${verifySecs.toFixed(1)} s = ${rate(report.entries, verifySecs)} entries/s`,
  );
  if (!report.ok || stored !== emitted) {
    console.log(`emitted ${emitted}, stored ${stored}`);
    process.exitCode = 1;
  }
} finally {
  server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
