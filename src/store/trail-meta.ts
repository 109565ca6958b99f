/**
 * The trail's own description (`trail.json`) and its creation: origin, verifier key, seal schedule
 * and content mode. Creation writes the checkpoint signing key and the first seal key (0600) and
 * hands the seal seed back once; the seed itself is never stored.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { Checkpoint, signCheckpoint } from '../chain/checkpoint.js';
import { generateNoteKey, NoteSigner } from '../chain/note.js';
import { EMPTY_TREE_ROOT } from '../chain/rfc6962.js';
import { newSealSeed, SealKeyFile } from '../chain/seal.js';
import { AuditError } from '../errors.js';
import { ensureDir, ensurePrivateDir, readIfExists, withFile, writeFileAtomic } from './fs-safe.js';
import { type TrailLayout, trailLayout } from './layout.js';
import { SealedFiles } from './sealed-files.js';

/** How content payloads are kept (the protection modes build on this). */
export type ContentMode = 'plain' | 'hash' | 'encrypt';

/** The contents of `trail.json`. */
export interface TrailMeta {
  format: 'sealtrail-trail/1';
  origin: string;
  verifierKey: string;
  createdAt: number;
  sealEpochMs: number;
  content: ContentMode;
}

/** Options of {@link createTrail}. */
export interface CreateTrailOptions {
  origin?: string;
  content?: ContentMode;
  /** Length of a forward-seal epoch in ms; default 15 minutes. */
  sealEpochMs?: number;
  now?: number;
}

/** What {@link createTrail} hands back once. */
export interface CreatedTrail {
  origin: string;
  verifierKey: string;
  /** The forward-seal verification seed (base64url). Shown once; keep it offline. */
  sealSeed: string;
}

export const DEFAULT_SEAL_EPOCH_MS = 15 * 60 * 1000;

// C2SP key names: no '+', no whitespace; keep origins to a portable character set.
const ORIGIN_RE = /^[A-Za-z0-9][A-Za-z0-9._~:/@-]{0,254}$/;

/** A default origin unique to this host and trail, e.g. `host.example/sealtrail/3f9a1c2e`. */
export function defaultOrigin(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';
  return `${host}/sealtrail/${randomBytes(4).toString('hex')}`;
}

/**
 * Checks the origin of a new trail; `field` is how the message names it (an option or variable).
 * @throws AuditError CONFIG_INVALID naming `field`.
 */
export function checkOrigin(origin: string, field = 'origin'): void {
  if (!ORIGIN_RE.test(origin)) {
    throw new AuditError('CONFIG_INVALID', `${field}: expected letters, digits and . _ ~ : / @ - (max 255)`, {
      field,
    });
  }
}

/**
 * Checks the origin and seal epoch of a new trail (any store).
 * @throws AuditError CONFIG_INVALID naming the field.
 */
export function validateTrailSettings(origin: string, sealEpochMs: number): void {
  checkOrigin(origin);
  if (!Number.isSafeInteger(sealEpochMs) || sealEpochMs < 1000) {
    throw new AuditError('CONFIG_INVALID', 'sealEpochMs: expected an integer of at least 1000', {
      field: 'sealEpochMs',
    });
  }
}

/**
 * Creates a new trail in `dir`.
 * @throws AuditError TRAIL_EXISTS when `dir` already holds a trail; CONFIG_INVALID for a bad origin.
 */
export function createTrail(dir: string, options: CreateTrailOptions = {}): CreatedTrail {
  const layout = trailLayout(dir);
  const origin = options.origin ?? defaultOrigin();
  const sealEpochMs = options.sealEpochMs ?? DEFAULT_SEAL_EPOCH_MS;
  validateTrailSettings(origin, sealEpochMs);
  if (fs.existsSync(layout.meta)) {
    throw new AuditError('TRAIL_EXISTS', `a trail already exists in ${layout.dir}`, { file: layout.meta });
  }
  return withFile(layout.dir, 'create trail in', () => {
    ensurePrivateDir(layout.dir);
    ensureDir(layout.keysDir);
    ensureDir(layout.segmentsDir);
    const { skey, vkey } = generateNoteKey(origin);
    writeFileAtomic(layout.signerKey, `${skey}\n`);
    const seed = newSealSeed();
    SealKeyFile.create(layout.sealKey, seed, origin);
    const meta: TrailMeta = {
      format: 'sealtrail-trail/1',
      origin,
      verifierKey: vkey,
      createdAt: options.now ?? Date.now(),
      sealEpochMs,
      content: options.content ?? 'plain',
    };
    // The empty tree's signed checkpoint: a new trail has one to show, publish and extend.
    new SealedFiles(layout).appendCheckpoint({
      size: 0,
      time: new Date(meta.createdAt).toISOString(),
      reason: 'open',
      note: signCheckpoint(new Checkpoint(origin, 0, EMPTY_TREE_ROOT), NoteSigner.fromSkey(skey)),
    });
    // trail.json last: its presence marks a complete trail.
    writeFileAtomic(layout.meta, `${JSON.stringify(meta, null, 2)}\n`);
    const sealSeed = seed.toString('base64url');
    seed.fill(0);
    return { origin, verifierKey: vkey, sealSeed };
  });
}

/**
 * Reads `trail.json`.
 * @throws AuditError TRAIL_NOT_FOUND when `dir` holds no trail; CONFIG_INVALID when the file is damaged.
 */
export function readTrailMeta(layoutOrDir: TrailLayout | string): TrailMeta {
  const layout = typeof layoutOrDir === 'string' ? trailLayout(layoutOrDir) : layoutOrDir;
  const text = withFile(layout.meta, 'read', () => readIfExists(layout.meta));
  if (text === undefined) {
    throw new AuditError('TRAIL_NOT_FOUND', `no trail in ${layout.dir} (run sealtrail init)`, {
      file: layout.meta,
    });
  }
  let meta: TrailMeta;
  try {
    meta = JSON.parse(text) as TrailMeta;
  } catch {
    throw new AuditError('CONFIG_INVALID', `${layout.meta} is not valid JSON`, { file: layout.meta });
  }
  if (
    meta.format !== 'sealtrail-trail/1' ||
    typeof meta.origin !== 'string' ||
    typeof meta.verifierKey !== 'string'
  ) {
    throw new AuditError('CONFIG_INVALID', `${layout.meta} is not a sealtrail trail description`, {
      file: layout.meta,
    });
  }
  return meta;
}
