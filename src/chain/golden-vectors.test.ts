/**
 * The RFC 6962 / RFC 9162 proof vectors of transparency-dev/merkle `testdata/` (copied unchanged
 * into shared/testdata/rfc6962, see its SOURCE.md), walked from the files: one test per vector,
 * which must be accepted or rejected as its `wantErr` says. Skipped where that folder is absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type AuditErrorCode, isAuditError } from '../errors.js';
import { verifyConsistency, verifyInclusion } from './proof-verify.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = path.resolve(REPO_ROOT, '../shared/testdata/rfc6962');
const VECTOR_COUNT = 196;

interface InclusionVector {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyVector {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

/** Runs one vector: 'none' when accepted, else the error code (anything but an AuditError is 'other'). */
function run(file: string): { outcome: AuditErrorCode | 'none' | 'other'; wantErr: boolean; kind: string } {
  const kind = path.relative(DIR, file).split(path.sep)[0]!;
  // Values above 2^53 (a Go uint64 that wrapped below 0) parse to unsafe numbers: the verifier must reject them.
  const v = JSON.parse(fs.readFileSync(file, 'utf8')) as InclusionVector | ConsistencyVector;
  try {
    if (kind === 'inclusion') {
      const x = v as InclusionVector;
      verifyInclusion(x.leafIdx, x.treeSize, b64(x.leafHash), (x.proof ?? []).map(b64), b64(x.root));
    } else {
      const x = v as ConsistencyVector;
      verifyConsistency(x.size1, x.size2, (x.proof ?? []).map(b64), b64(x.root1), b64(x.root2));
    }
    return { outcome: 'none', wantErr: v.wantErr, kind };
  } catch (err) {
    return { outcome: isAuditError(err) ? err.code : 'other', wantErr: v.wantErr, kind };
  }
}

const files = fs.existsSync(DIR) ? walk(DIR) : [];

describe.skipIf(!fs.existsSync(DIR))('golden vectors of transparency-dev/merkle testdata', () => {
  it(`hold ${VECTOR_COUNT} vectors`, () => {
    expect(files.length).toBe(VECTOR_COUNT);
  });

  it.each(files.map((f) => [path.relative(DIR, f), f]))('%s', (_name, file) => {
    const { outcome, wantErr, kind } = run(file);
    const code = kind === 'inclusion' ? 'INCLUSION_PROOF_INVALID' : 'CONSISTENCY_PROOF_INVALID';
    expect(outcome).toBe(wantErr ? code : 'none');
  });
});
