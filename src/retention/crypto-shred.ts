/**
 * Erasure by crypto-shredding, for stores whose rows are never rewritten (PostgreSQL: the
 * append-only trigger forbids it). In content mode `encrypt`, a subject's payloads are encrypted
 * under the subject's own data key (keys/subject-keys.ts); destroying that key makes every one of
 * them unreadable wherever the ciphertext is, while the stored lines, and so the chain, the tree,
 * every checkpoint and every proof, stay as they are. Pure logic here: which payloads of a
 * subject's entries the destruction reaches, and which it cannot (plain text, or ciphertext under
 * the master key, written when the subject's key could not be had), so that an erasure that
 * would leave readable content is refused before anything is destroyed.
 */
import { fieldCipherKeyId } from '../keys/index.js';
import type { ErasureCount } from './erase.js';

/** What the stored entries of one subject hold, as far as crypto-shredding is concerned. */
export interface ShredPlan extends ErasureCount {
  /** Payloads stored in clear: the destruction of a key does not reach them. */
  plain: number;
  /** Payloads encrypted under the master key rather than the subject's key. */
  masterKey: number;
}

/** The facts of an entry the plan reads (a read AuditEntry has them). */
export interface ShredEntry {
  content?: Record<string, unknown> | undefined;
  contentModes?: unknown;
}

/**
 * Counts the payloads of `entries` (all about one subject) that destroying the subject's data key
 * makes unreadable (`fields`, in `entries` entries), and those it would leave readable. Keyed
 * hashes (`hash`) are fingerprints, not content, and count as neither. With `generation` (the key
 * destroyed), only payloads under it count: those under a key an earlier erasure destroyed were
 * counted by that erasure, and those under a key created since are not reached.
 */
export function planCryptoShred(entries: Iterable<ShredEntry>, generation?: string): ShredPlan {
  const plan: ShredPlan = { entries: 0, fields: 0, plain: 0, masterKey: 0 };
  for (const e of entries) {
    const modes = (
      typeof e.contentModes === 'object' && e.contentModes !== null ? e.contentModes : {}
    ) as Record<string, unknown>;
    let shredded = 0;
    for (const [field, value] of Object.entries(e.content ?? {})) {
      const mode = modes[field] ?? 'plain';
      if (mode === 'hash') continue;
      const keyId = mode === 'encrypt' && typeof value === 'string' ? fieldCipherKeyId(value) : undefined;
      if (keyId?.startsWith('s-') === true) {
        if (generation === undefined || keyId === generation) shredded++;
      } else if (mode === 'encrypt') plan.masterKey++;
      else plan.plain++;
    }
    if (shredded > 0) {
      plan.entries++;
      plan.fields += shredded;
    }
  }
  return plan;
}
