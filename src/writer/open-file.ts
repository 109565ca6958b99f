/**
 * Opens the appender of a trail directory: takes the writer lock, recovers a torn tail, brings the
 * persisted Merkle nodes in line with the segments, catches up on missed seal epochs, and records
 * what recovery did as a `system.recovery` entry that continues the same chain.
 */
import fs from 'node:fs';
import { NoteSigner } from '../chain/note.js';
import { hashLeaf } from '../chain/rfc6962.js';
import { SealKeyFile } from '../chain/seal.js';
import { TileTree } from '../chain/tree.js';
import type { AppendThread } from '../store/append-thread.js';
import {
  acquireLock,
  type ContentMode,
  createTrail,
  readCommitted,
  readTrailMeta,
  SealedFiles,
  SegmentLog,
  type TrailMeta,
  toJsonLines,
  trailLayout,
  withFile,
  writeAllSync,
} from '../store/index.js';
import { Appender, type AppenderOptions } from './appender.js';
import { checkUnsignedTail, recoveryEvent } from './unsigned-tail.js';

/** Options for opening a trail directory for writing. */
export interface OpenFileOptions extends AppenderOptions {
  dir: string;
  /** Create the trail when the directory holds none (default true). */
  create?: boolean;
  origin?: string;
  content?: ContentMode;
  sealEpochMs?: number;
  maxSegmentBytes?: number;
  /** Also write every stored line to stdout (JSON lines, for containers). */
  stdout?: boolean;
}

/** An open file-backed appender and what opening found. */
export interface OpenedFile {
  appender: Appender;
  meta: TrailMeta;
  /** Set only when this open created the trail: the seal seed, shown once. */
  sealSeed?: string;
  release(): void;
}

/**
 * Opens (and if allowed creates) the trail in `options.dir` for appending; with `appendThread`,
 * segment writes go through it (store/append-thread.ts).
 * @throws AuditError TRAIL_LOCKED, TRAIL_NOT_FOUND, STORE_IO, KEY_INVALID.
 */
export function openFileAppender(options: OpenFileOptions, appendThread?: AppendThread): OpenedFile {
  const layout = trailLayout(options.dir);
  let sealSeed: string | undefined;
  if (options.create !== false && !fs.existsSync(layout.meta)) {
    const createOpts: Parameters<typeof createTrail>[1] = {};
    if (options.origin !== undefined) createOpts.origin = options.origin;
    if (options.content !== undefined) createOpts.content = options.content;
    if (options.sealEpochMs !== undefined) createOpts.sealEpochMs = options.sealEpochMs;
    sealSeed = createTrail(layout.dir, createOpts).sealSeed;
  }
  const meta = readTrailMeta(layout);
  const release = acquireLock(layout.lock);
  try {
    const state = new SealedFiles(layout);
    const latest = state.latestCheckpoint();
    const log = SegmentLog.open(layout, {
      signedSize: latest?.size ?? 0,
      ...(options.maxSegmentBytes === undefined ? {} : { maxSegmentBytes: options.maxSegmentBytes }),
      ...(appendThread === undefined ? {} : { appendThread }),
    });
    const adopted = checkUnsignedTail(latest, log.size, layout.segmentsDir);
    const tree = TileTree.open(layout.treeDir);
    if (tree.size > log.size) tree.truncate(log.size);
    if (tree.size < log.size) {
      for (const committed of readCommitted(layout.segmentsDir, tree.size, log.size))
        tree.append(hashLeaf(committed));
      tree.flush();
      tree.sync();
    }
    const signer = withFile(layout.signerKey, 'read', () =>
      NoteSigner.fromSkey(fs.readFileSync(layout.signerKey, 'utf8').trim()),
    );
    const sealKey = SealKeyFile.open(layout.sealKey);
    const parts: ConstructorParameters<typeof Appender>[0] = {
      origin: meta.origin,
      t0: meta.createdAt,
      sealEpochMs: meta.sealEpochMs,
      log,
      tree,
      signer,
      sealKey,
      state,
    };
    if (options.stdout === true)
      parts.mirror = (lines) => writeAllSync(1, toJsonLines(lines.toString('utf8')));
    const appender = new Appender(parts, options);
    appender.sealFinishedEpochs(Date.now());
    // Before anything is appended: a crash from here on must not leave entries after a `close` checkpoint.
    if (latest?.reason === 'close') appender.checkpoint('open', true);
    const recovered = recoveryEvent(log.recovery, adopted);
    if (recovered !== undefined) appender.appendEvent(recovered);
    if (state.latestCheckpoint()?.size !== appender.size) appender.checkpoint('open');
    const opened: OpenedFile = { appender, meta, release };
    if (sealSeed !== undefined) opened.sealSeed = sealSeed;
    return opened;
  } catch (err) {
    appendThread?.abandon(); // a write it is retrying must not land after the lock is released
    release();
    throw err;
  }
}
