/**
 * The signing keys of a PostgreSQL trail, kept OUT of the database (a role that can write the
 * database must not be able to re-sign a rewritten log): a local key directory (0700) holding
 * `checkpoint.skey` and `seal.key` (0600), the same files as the `keys/` folder of a trail
 * directory. Creation hands the forward-seal seed back once; it is never stored.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateNoteKey, NoteSigner, NoteVerifier } from '../../chain/note.js';
import { newSealSeed, SealKeyFile } from '../../chain/seal.js';
import { AuditError } from '../../errors.js';
import { ensureDir, withFile, writeFileAtomic } from '../fs-safe.js';

/** The key files of one PostgreSQL log. */
export interface PgKeyFiles {
  dir: string;
  signerKey: string;
  sealKey: string;
}

/** The key files in `dir`. */
export function pgKeyFiles(dir: string): PgKeyFiles {
  const d = path.resolve(dir);
  return { dir: d, signerKey: path.join(d, 'checkpoint.skey'), sealKey: path.join(d, 'seal.key') };
}

/** Removes the keys {@link createPgKeys} made for a log that was then not created. */
export function removePgKeys(dir: string): void {
  const files = pgKeyFiles(dir);
  for (const f of [files.signerKey, files.sealKey])
    withFile(f, 'remove', () => fs.rmSync(f, { force: true }));
}

/**
 * Creates the checkpoint key and the epoch-0 seal key of a new log in `dir`.
 * @throws AuditError TRAIL_EXISTS when `dir` already holds keys; STORE_IO when it cannot be written.
 */
export function createPgKeys(dir: string, origin: string): { verifierKey: string; sealSeed: string } {
  const files = pgKeyFiles(dir);
  if (fs.existsSync(files.signerKey) || fs.existsSync(files.sealKey)) {
    throw new AuditError(
      'TRAIL_EXISTS',
      `${files.dir} already holds trail keys (of another log?): give an empty key directory`,
      { file: files.dir },
    );
  }
  return withFile(files.dir, 'create keys in', () => {
    ensureDir(files.dir);
    const { skey, vkey } = generateNoteKey(origin);
    writeFileAtomic(files.signerKey, `${skey}\n`);
    const seed = newSealSeed();
    SealKeyFile.create(files.sealKey, seed, origin);
    const sealSeed = seed.toString('base64url');
    seed.fill(0);
    return { verifierKey: vkey, sealSeed };
  });
}

/**
 * Loads the keys of a log and checks they are the log's: the signer must match the verifier key
 * and the seal key the origin recorded in the database.
 * @throws AuditError KEY_NOT_FOUND, KEY_INVALID.
 */
export function loadPgKeys(
  dir: string,
  origin: string,
  verifierKey: string,
): { signer: NoteSigner; sealKey: SealKeyFile } {
  const files = pgKeyFiles(dir);
  let skey: string;
  try {
    skey = fs.readFileSync(files.signerKey, 'utf8').trim();
  } catch (err) {
    throw new AuditError(
      'KEY_NOT_FOUND',
      `checkpoint key ${files.signerKey}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'} (give the log's key directory)`,
      { file: files.signerKey },
    );
  }
  const signer = NoteSigner.fromSkey(skey);
  const verifier = NoteVerifier.fromVkey(verifierKey);
  if (signer.name !== verifier.name || !signer.keyHash.equals(verifier.keyHash)) {
    throw new AuditError(
      'KEY_INVALID',
      `${files.signerKey} is not the checkpoint key of log origin ${origin}`,
      {
        file: files.signerKey,
      },
    );
  }
  const sealKey = SealKeyFile.open(files.sealKey);
  if (sealKey.origin !== origin) {
    throw new AuditError('KEY_INVALID', `${files.sealKey} is the seal key of another origin`, {
      file: files.sealKey,
    });
  }
  return { signer, sealKey };
}
