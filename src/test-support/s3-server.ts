/**
 * A real S3-API server on loopback for tests (@20minutes/s3rver, files in a temporary directory),
 * with the headers of every request it receives kept, so tests see what the SDK really sent.
 * It does not enforce Object Lock, legal hold, checksums or conditional writes (see README).
 */
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { tempDir } from './fixtures.js';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer: import('node:http').Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as S3rverClass;

/** One request the server received. */
export interface SeenRequest {
  method: string;
  /** Path and query, e.g. `/bucket/prefix/segments/0000.log?x-id=PutObject`. */
  url: string;
  headers: IncomingMessage['headers'];
}

/** A running local S3 server. */
export interface LocalS3 {
  endpoint: string;
  /** Credentials the server accepts (its fixed test pair; not a secret). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  requests: SeenRequest[];
  /** Where the server keeps objects: `<dir>/<bucket>/<key>._S3rver_object`. */
  dir: string;
  /** The file holding the bytes of object `key` in `bucket`. */
  objectFile(bucket: string, key: string): string;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 (free port) with the given buckets. */
export async function startLocalS3(buckets: string[]): Promise<LocalS3> {
  const dir = tempDir('sealtrail-s3-');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    // It canonicalizes the bucket path of a ListObjectsV2 request ('/bucket/') otherwise than
    // the SDK signs it, so signatures are not checked (see README).
    allowMismatchedSignatures: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const addr = await server.run();
  const requests: SeenRequest[] = [];
  server.httpServer.prependListener('request', (req: IncomingMessage) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
  });
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requests,
    dir,
    objectFile: (bucket, key) => path.join(dir, bucket, `${key}._S3rver_object`),
    async close() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
