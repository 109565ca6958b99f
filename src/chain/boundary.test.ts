import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { boundaryFromTree, boundaryText, openBoundary, parseBoundary, signBoundary } from './boundary.js';
import { CompactTree } from './compact-tree.js';
import { generateNoteKey, NoteSigner, NoteVerifier } from './note.js';
import { hashLeaf } from './rfc6962.js';
import { MemoryTree } from './tree.js';

function treeOf(n: number): MemoryTree {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) t.append(hashLeaf(`leaf ${i}`));
  return t;
}

describe('boundaryFromTree', () => {
  it('gives, for every size up to 70, a border whose compact tree continues like the full one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 10 }), (size, more) => {
        const full = treeOf(size + more);
        const b = parseBoundary(boundaryText(boundaryFromTree('o', full, size)));
        const resumed = CompactTree.fromBorder(b.size, b.border);
        for (let i = size; i < size + more; i++) resumed.append(hashLeaf(`leaf ${i}`));
        expect(resumed.root().equals(full.root())).toBe(true);
        expect(b.prev.equals(hashLeaf(`leaf ${size - 1}`))).toBe(true);
      }),
    );
  });
});

describe('parseBoundary', () => {
  const body = boundaryText(boundaryFromTree('o', treeOf(13), 13));

  it('rejects a changed prev, border or root with BOUNDARY_INVALID', () => {
    const lines = body.split('\n');
    for (const i of [3, 4, 5, lines.length - 2]) {
      const changed = [...lines];
      const line = changed[i]!;
      const at = line.length - 5;
      changed[i] = `${line.slice(0, at)}${line[at] === 'A' ? 'B' : 'A'}${line.slice(at + 1)}`;
      let err: unknown;
      try {
        parseBoundary(changed.join('\n'));
      } catch (e) {
        err = e;
      }
      expect(isAuditError(err, 'BOUNDARY_INVALID'), `line ${i}`).toBe(true);
    }
  });

  it('rejects a border with a hash missing', () => {
    const lines = body
      .split('\n')
      .filter((l, i, all) => !(l.startsWith('border ') && all[i - 1]?.startsWith('prev ')));
    expect(() => parseBoundary(lines.join('\n'))).toThrow(/border/);
  });
});

describe('openBoundary', () => {
  const { skey, vkey } = generateNoteKey('example.test/trail');
  const note = signBoundary(boundaryFromTree('example.test/trail', treeOf(9), 8), NoteSigner.fromSkey(skey));

  it('opens a boundary signed by the trail key', () => {
    expect(openBoundary(note, NoteVerifier.fromVkey(vkey)).size).toBe(8);
  });

  it('refuses one signed by another key', () => {
    const other = generateNoteKey('example.test/trail');
    let err: unknown;
    try {
      openBoundary(note, NoteVerifier.fromVkey(other.vkey));
    } catch (e) {
      err = e;
    }
    expect(isAuditError(err, 'CHECKPOINT_SIGNATURE_INVALID')).toBe(true);
  });
});
