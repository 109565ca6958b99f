/**
 * A Merkle tree that keeps only its right border: the roots of the complete subtrees that make up
 * the current size (one per set bit), so appending and computing the RFC 6962 root cost O(log n)
 * memory and time and nothing grows with the log. It serves the verifier (root at every
 * checkpoint size while streaming the log) and trails that keep no node hashes (stdout sink).
 */
import { AuditError } from '../errors.js';
import { onesCount } from './proof-verify.js';
import { EMPTY_TREE_ROOT, hashChildren } from './rfc6962.js';
import type { TreeWriter } from './tree.js';

/** The right border of an RFC 6962 tree built leaf by leaf. */
export class CompactTree implements TreeWriter {
  private readonly border: Buffer[] = [];
  private count = 0;

  /**
   * The tree of `size` leaves whose right border (complete subtree roots, largest first) is
   * `border`, to continue from there: a verifier of an archived range, or of a pruned trail's
   * boundary, starts at its first seq.
   * Requires one 32-byte hash per set bit of `size`.
   * @throws AuditError USAGE when the border does not fit the size.
   */
  static fromBorder(size: number, border: readonly Buffer[]): CompactTree {
    if (!Number.isSafeInteger(size) || size < 0 || border.length !== onesCount(size))
      throw new AuditError(
        'USAGE',
        `border: expected ${onesCount(Math.max(0, size))} hashes for size ${size}`,
      );
    if (border.some((h) => h.length !== 32)) throw new AuditError('USAGE', 'border: hashes must be 32 bytes');
    const tree = new CompactTree();
    tree.border.push(...border.map((h) => Buffer.from(h)));
    tree.count = size;
    return tree;
  }

  get size(): number {
    return this.count;
  }

  append(leafHash: Buffer): void {
    let hash = leafHash;
    // Each trailing 1 bit of the old size is a complete subtree that the new leaf completes.
    for (let n = this.count; n % 2 === 1; n = Math.floor(n / 2))
      hash = hashChildren(this.border.pop()!, hash);
    this.border.push(hash);
    this.count++;
  }

  /**
   * Appends a complete subtree of 2^`height` leaves whose root is `hash` (as that many appends
   * would). Requires the size to be a multiple of 2^`height`.
   * @throws AuditError USAGE when it is not.
   */
  appendSubtree(hash: Buffer, height: number): void {
    const leaves = 2 ** height;
    if (this.count % leaves !== 0)
      throw new AuditError(
        'USAGE',
        `compact tree: a subtree of ${leaves} leaves cannot start at ${this.count}`,
      );
    // A copy when kept as given: `hash` may be a view into a larger buffer.
    let h = hash;
    for (let n = this.count / leaves; n % 2 === 1; n = Math.floor(n / 2))
      h = hashChildren(this.border.pop()!, h);
    this.border.push(h === hash ? Buffer.from(hash) : h);
    this.count += leaves;
  }

  root(): Buffer {
    if (this.count === 0) return EMPTY_TREE_ROOT;
    let hash = this.border[this.border.length - 1]!;
    for (let i = this.border.length - 2; i >= 0; i--) hash = hashChildren(this.border[i]!, hash);
    return hash;
  }

  /** @throws AuditError USAGE: a compact tree keeps no interior node hashes. */
  nodeHash(): Buffer {
    throw new AuditError('USAGE', 'compact tree: node hashes are not kept (no proofs from this store)');
  }

  /** @throws AuditError USAGE: the border of a smaller size is gone. */
  truncate(size: number): void {
    if (size !== this.count) throw new AuditError('USAGE', 'compact tree: cannot be truncated');
  }

  flush(): void {}
  sync(): void {}
  close(): void {}
}
