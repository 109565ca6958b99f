/**
 * The integrity status of single entries, for conversations and timelines: is the entry covered
 * by the latest signed checkpoint (signature checked against the trail's or the auditor's
 * verifier key), does its inclusion proof from the persisted tree lead to that checkpoint's root,
 * and do its content payloads match their commitments? O(log n) hash reads per entry; a full
 * `verify` remains the check of the whole trail.
 */
import {
  buildInclusionProof,
  type Checkpoint,
  digestContent,
  hashLeaf,
  NoteVerifier,
  openCheckpoint,
  parseCommitted,
  parsePayloads,
  splitLine,
  TileTree,
  type TreeReader,
  verifyInclusion,
} from '../chain/index.js';
import { canonicalJson } from '../event/index.js';
import { DirSource } from '../store/index.js';
import type { PgSource } from '../store/postgres/index.js';

/** What was found about one entry. */
export interface EntryIntegrity {
  /**
   * `verified`: inclusion in the signed checkpoint and content commitments checked;
   * `unsigned`: written after the latest checkpoint (content still checked);
   * `failed`: a check failed (`reason` says which).
   */
  status: 'verified' | 'unsigned' | 'failed';
  /** Size of the checkpoint the inclusion was checked against. */
  checkpointSize?: number;
  /** Content payloads: checked against their digests, or erased (digest kept), or none. */
  content: { verified: number; erased: number };
  reason?: string;
}

/** Checks entries one at a time against the latest signed checkpoint. Call `close()` when done. */
export class EntryIntegrityChecker {
  private readonly checkpoint: Checkpoint | undefined;
  private readonly checkpointProblem: string | undefined;
  private tree: (TreeReader & { close(): void }) | undefined;

  constructor(source: DirSource | PgSource, verifierKey: string = source.meta.verifierKey) {
    const note = source.latestCheckpoint();
    if (note === undefined) {
      this.checkpointProblem = undefined;
      return;
    }
    try {
      this.checkpoint = openCheckpoint(note, NoteVerifier.fromVkey(verifierKey));
    } catch (err) {
      this.checkpointProblem = `latest checkpoint does not verify: ${(err as Error).message}`;
      return;
    }
    try {
      this.tree =
        source instanceof DirSource
          ? TileTree.open(source.layout.treeDir, { readOnly: true })
          : source.openTree();
    } catch {
      this.tree = undefined; // the tree files are a cache: without them, inclusion is not shown here
    }
  }

  /** The latest checkpoint's size, when it verified. */
  get checkpointSize(): number | undefined {
    return this.checkpoint?.size;
  }

  /** The status of the entry stored as `line` at position `seq`. */
  check(line: string, seq: number): EntryIntegrity {
    const { committed, payloads } = splitLine(line);
    const content = { verified: 0, erased: 0 };
    try {
      const rec = parseCommitted(committed);
      const stored = payloads === undefined ? {} : parsePayloads(payloads);
      for (const [name, digest] of Object.entries(rec.content ?? {})) {
        const p = Object.hasOwn(stored, name) ? stored[name] : undefined;
        if (p === undefined || typeof p !== 'object' || p === null) {
          return { status: 'failed', content, reason: `content ${name}: payload missing` };
        }
        if ('erased' in p) {
          content.erased++;
          continue;
        }
        if (digestContent(name, p.salt, canonicalJson(p.value)) !== digest) {
          return { status: 'failed', content, reason: `content ${name}: does not match its commitment` };
        }
        content.verified++;
      }
      for (const name of Object.keys(stored)) {
        if (!Object.hasOwn(rec.content ?? {}, name)) {
          return { status: 'failed', content, reason: `content ${name}: not committed` };
        }
      }
    } catch (err) {
      return { status: 'failed', content, reason: (err as Error).message };
    }
    if (this.checkpointProblem !== undefined)
      return { status: 'failed', content, reason: this.checkpointProblem };
    const cp = this.checkpoint;
    if (cp === undefined || seq >= cp.size) return { status: 'unsigned', content };
    if (this.tree === undefined) {
      return { status: 'unsigned', content, reason: 'persisted tree missing: run verify' };
    }
    try {
      const proof = buildInclusionProof(this.tree, seq, cp.size);
      verifyInclusion(seq, cp.size, hashLeaf(committed), proof, cp.rootHash);
    } catch (err) {
      return { status: 'failed', checkpointSize: cp.size, content, reason: (err as Error).message };
    }
    return { status: 'verified', checkpointSize: cp.size, content };
  }

  close(): void {
    this.tree?.close();
    this.tree = undefined;
  }
}
