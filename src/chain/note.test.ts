import { describe, expect, it } from 'vitest';
import { Checkpoint, openCheckpoint, signCheckpoint } from './checkpoint.js';
import { generateNoteKey, NoteSigner, NoteVerifier, openNote, signNote } from './note.js';

// Known answer: the example key and note of golang.org/x/mod/sumdb/note (the reference
// implementation of C2SP signed-note). Ed25519 is deterministic (RFC 8032), so signing the same
// text with the same key must give the published note byte for byte.
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIG =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
// The example of the C2SP signed-note specification.
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE =
  'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

describe('signNote', () => {
  it('reproduces the reference implementation example byte for byte', () => {
    expect(signNote(GO_TEXT, NoteSigner.fromSkey(GO_SKEY))).toBe(`${GO_TEXT}\n${GO_SIG}`);
  });

  it('refuses text that does not end with a newline', () => {
    expect(() => signNote('no newline', NoteSigner.fromSkey(GO_SKEY))).toThrow(
      expect.objectContaining({ code: 'CHECKPOINT_MALFORMED' }),
    );
  });
});

describe('openNote', () => {
  it('opens the C2SP specification example with its key', () => {
    expect(openNote(SPEC_NOTE, NoteVerifier.fromVkey(SPEC_VKEY))).toBe('This is an example message.\n');
  });

  it('opens the reference example and ignores signatures by other keys', () => {
    const other = generateNoteKey('other.example');
    const extra = signNote(GO_TEXT, NoteSigner.fromSkey(other.skey)).slice(GO_TEXT.length + 1);
    const note = `${GO_TEXT}\n${extra}${GO_SIG}`;
    expect(openNote(note, NoteVerifier.fromVkey(GO_VKEY))).toBe(GO_TEXT);
  });

  describe('when the text is changed', () => {
    it('fails with CHECKPOINT_SIGNATURE_INVALID', () => {
      const note = `${GO_TEXT.replace('problem', 'Problem')}\n${GO_SIG}`;
      expect(() => openNote(note, NoteVerifier.fromVkey(GO_VKEY))).toThrow(
        expect.objectContaining({ code: 'CHECKPOINT_SIGNATURE_INVALID' }),
      );
    });
  });

  describe('when no signature is by the trusted key', () => {
    it('fails with CHECKPOINT_SIGNATURE_INVALID', () => {
      expect(() => openNote(SPEC_NOTE, NoteVerifier.fromVkey(GO_VKEY))).toThrow(
        expect.objectContaining({ code: 'CHECKPOINT_SIGNATURE_INVALID' }),
      );
    });
  });

  describe.each([
    ['no signature block', GO_TEXT],
    ['a signature line without the em dash', `${GO_TEXT}\n${GO_SIG.slice(2)}`],
    ['a signature that is not base64', `${GO_TEXT}\n\u2014 PeterNeumann ***\n`],
    ['a control character in the text', `a\x1bb\n\n${GO_SIG}`],
  ])('with %s', (_name, note) => {
    it('fails with CHECKPOINT_MALFORMED', () => {
      expect(() => openNote(note, NoteVerifier.fromVkey(GO_VKEY))).toThrow(
        expect.objectContaining({ code: 'CHECKPOINT_MALFORMED' }),
      );
    });
  });
});

describe('NoteVerifier.fromVkey', () => {
  it.each([
    ['a wrong key hash', 'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['an unknown algorithm', 'PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    [
      'a key of the wrong length',
      'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==',
    ],
    ['a missing part', 'PeterNeumann+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
  ])('rejects %s with KEY_INVALID', (_name, vkey) => {
    expect(() => NoteVerifier.fromVkey(vkey)).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }));
  });
});

describe('NoteSigner.fromSkey', () => {
  it('rejects a key whose hash does not match, without echoing the key', () => {
    const bad = GO_SKEY.replace('c74f20a3', 'c74f20a4');
    let message = '';
    try {
      NoteSigner.fromSkey(bad);
    } catch (err) {
      message = (err as Error).message;
      expect(err).toMatchObject({ code: 'KEY_INVALID' });
    }
    expect(message).not.toContain('AYEKFALV');
  });
});

describe('generateNoteKey', () => {
  it('makes a key pair whose notes open with the verifier key', () => {
    const { skey, vkey } = generateNoteKey('host.example/sealtrail/1');
    const note = signNote('hello\n', NoteSigner.fromSkey(skey));
    expect(openNote(note, NoteVerifier.fromVkey(vkey))).toBe('hello\n');
  });
});

describe('Checkpoint', () => {
  const root = Buffer.alloc(32, 7);

  it('round-trips through toString and parse, with extension lines', () => {
    const cp = new Checkpoint('example.com/log', 42, root, ['ext one']);
    const parsed = Checkpoint.parse(cp.toString());
    expect(parsed.toString()).toBe(`example.com/log\n42\n${root.toString('base64')}\next one\n`);
    expect(parsed).toMatchObject({ origin: 'example.com/log', size: 42, extensions: ['ext one'] });
  });

  it.each([
    ['a size with a leading zero', `o\n042\n${root.toString('base64')}\n`],
    ['a negative size', `o\n-1\n${root.toString('base64')}\n`],
    ['a short root', `o\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['a missing final newline', `o\n1\n${root.toString('base64')}`],
    ['two lines', 'o\n1\n'],
  ])('rejects %s with CHECKPOINT_MALFORMED', (_name, text) => {
    expect(() => Checkpoint.parse(text)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_MALFORMED' }));
  });

  it('is signed and opened with the origin as key name', () => {
    const { skey, vkey } = generateNoteKey('example.com/log');
    const note = signCheckpoint(new Checkpoint('example.com/log', 3, root), NoteSigner.fromSkey(skey));
    expect(openCheckpoint(note, NoteVerifier.fromVkey(vkey)).size).toBe(3);
  });

  it('is refused when its origin is not the key name', () => {
    const { skey, vkey } = generateNoteKey('example.com/log');
    const note = signCheckpoint(new Checkpoint('example.com/other', 3, root), NoteSigner.fromSkey(skey));
    expect(() => openCheckpoint(note, NoteVerifier.fromVkey(vkey))).toThrow(
      expect.objectContaining({ code: 'CHECKPOINT_SIGNATURE_INVALID' }),
    );
  });
});
