/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys: key generation in the C2SP
 * `PRIVATE+KEY+...` / vkey encodings, signing a note body, and opening a note with a trusted key.
 * Note text is attacker-controlled when read back: every parse failure is an AuditError, never a
 * SyntaxError.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { AuditError } from '../errors.js';

/** C2SP signed-note signature type byte for Ed25519. */
export const SIGNED_NOTE_ED25519 = 0x01;
/** The separator that starts every signature line: U+2014 EM DASH and a space. */
export const SIGNATURE_LINE_PREFIX = '\u2014 ';

// DER prefixes that wrap a raw 32-byte Ed25519 key as PKCS#8 / SPKI (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
// A key name is a non-empty string without whitespace or '+' (C2SP signed-note).
const KEY_NAME_RE = /^[^\s+]+$/u;
const MAX_SIGNATURES = 100;

function invalidKey(what: string): never {
  throw new AuditError('KEY_INVALID', `${what}: not a C2SP Ed25519 key`);
}

/** The 4-byte key ID: the first bytes of SHA-256(name || "\n" || type || public key). */
export function noteKeyHash(name: string, publicKey: Uint8Array): Buffer {
  return createHash('sha256')
    .update(name)
    .update('\n')
    .update(Buffer.of(SIGNED_NOTE_ED25519))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

/** Decodes strict standard base64 (padding required), or undefined. */
function decodeBase64(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Reject non-canonical encodings (stray bits in the last character).
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** Parses `<name>+<hash hex8>+<base64(type || key)>` (the tail of a skey or a vkey). */
function parseKeyText(text: string, what: string): { name: string; hash: Buffer; key: Buffer } {
  // The base64 key may itself contain '+': split at the first two only.
  const m = /^([^+]*)\+([^+]*)\+(.*)$/s.exec(text);
  if (m === null) invalidKey(what);
  const [, name, hashHex, keyB64] = m as unknown as [string, string, string, string];
  const raw = decodeBase64(keyB64);
  if (!KEY_NAME_RE.test(name) || !/^[0-9a-f]{8}$/.test(hashHex) || raw === undefined) invalidKey(what);
  if (raw.length !== 33 || raw[0] !== SIGNED_NOTE_ED25519) invalidKey(what);
  return { name, hash: Buffer.from(hashHex, 'hex'), key: raw.subarray(1) };
}

/**
 * Generates a new Ed25519 note key named `name`.
 * @returns `skey` (C2SP `PRIVATE+KEY+name+hash+key`, keep secret) and `vkey` (publish it).
 * @throws AuditError KEY_INVALID when the name is not a valid key name.
 */
export function generateNoteKey(name: string): { skey: string; vkey: string } {
  if (!KEY_NAME_RE.test(name)) invalidKey('key name');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
  const hash = noteKeyHash(name, pub).toString('hex');
  const typed = (k: Buffer) => Buffer.concat([Buffer.of(SIGNED_NOTE_ED25519), k]).toString('base64');
  const skey = `PRIVATE+KEY+${name}+${hash}+${typed(seed)}`;
  seed.fill(0);
  return { skey, vkey: `${name}+${hash}+${typed(pub)}` };
}

/** Signs note bodies with one Ed25519 key. */
export class NoteSigner {
  private constructor(
    readonly name: string,
    readonly keyHash: Buffer,
    private readonly key: KeyObject,
  ) {}

  /**
   * Loads a signer from a C2SP skey.
   * @throws AuditError KEY_INVALID when the text is not an Ed25519 skey or its hash does not match.
   */
  static fromSkey(skey: string): NoteSigner {
    if (!skey.startsWith('PRIVATE+KEY+')) invalidKey('signing key');
    const { name, hash, key } = parseKeyText(skey.slice('PRIVATE+KEY+'.length), 'signing key');
    const privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, key]),
      format: 'der',
      type: 'pkcs8',
    });
    key.fill(0);
    const pub = createPublicKey(privateKey)
      .export({ format: 'der', type: 'spki' })
      .subarray(SPKI_ED25519_PREFIX.length);
    if (!noteKeyHash(name, pub).equals(hash)) invalidKey('signing key');
    return new NoteSigner(name, hash, privateKey);
  }

  /** The Ed25519 signature of `body`. */
  sign(body: string): Buffer {
    return sign(null, Buffer.from(body, 'utf8'), this.key);
  }
}

/** Verifies note signatures made with one Ed25519 key. */
export class NoteVerifier {
  private constructor(
    readonly name: string,
    readonly keyHash: Buffer,
    readonly publicKey: KeyObject,
  ) {}

  /**
   * Loads a verifier from a C2SP vkey.
   * @throws AuditError KEY_INVALID when the text is not an Ed25519 vkey or its hash does not match.
   */
  static fromVkey(vkey: string): NoteVerifier {
    const { name, hash, key } = parseKeyText(vkey.trim(), 'verifier key');
    if (!noteKeyHash(name, key).equals(hash)) invalidKey('verifier key');
    const publicKey = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, key]),
      format: 'der',
      type: 'spki',
    });
    return new NoteVerifier(name, hash, publicKey);
  }

  /** True when `signature` is this key's Ed25519 signature of `body`. */
  verify(body: string, signature: Uint8Array): boolean {
    return signature.length === 64 && verify(null, Buffer.from(body, 'utf8'), this.publicKey, signature);
  }
}

/**
 * Signs a note body: `text` must end with a newline; returns the signed note.
 * @throws AuditError CHECKPOINT_MALFORMED when the text is not a valid note body.
 */
export function signNote(text: string, signer: NoteSigner): string {
  checkNoteText(text);
  const sig = Buffer.concat([signer.keyHash, signer.sign(text)]).toString('base64');
  return `${text}\n${SIGNATURE_LINE_PREFIX}${signer.name} ${sig}\n`;
}

function malformed(what: string): never {
  throw new AuditError('CHECKPOINT_MALFORMED', `signed note: ${what}`);
}

function checkNoteText(text: string): void {
  if (!text.endsWith('\n')) malformed('text does not end with a newline');
  // C2SP: UTF-8 text without control characters other than newline.
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) malformed('text holds control characters');
  if (text.includes('\n\n')) malformed('text holds an empty line');
}

/**
 * Opens a signed note with a trusted key: checks the envelope and that one signature line is a
 * valid signature by `verifier`. Signatures by other keys are ignored, as C2SP requires.
 * @returns the note text (body), ending with a newline.
 * @throws AuditError CHECKPOINT_MALFORMED (envelope), CHECKPOINT_SIGNATURE_INVALID (no valid signature by the key).
 */
export function openNote(note: string, verifier: NoteVerifier): string {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) malformed('no signature block');
  const text = note.slice(0, split + 1);
  checkNoteText(text);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) malformed('too many signatures');
  let verified = false;
  let sawKey = false;
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_LINE_PREFIX)) malformed('signature line does not start with an em dash');
    const rest = line.slice(SIGNATURE_LINE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space <= 0) malformed('signature line lacks a key name');
    const name = rest.slice(0, space);
    const sig = decodeBase64(rest.slice(space + 1));
    if (sig === undefined || sig.length < 5) malformed('signature is not base64');
    if (name !== verifier.name || !sig.subarray(0, 4).equals(verifier.keyHash)) continue;
    sawKey = true;
    if (verifier.verify(text, sig.subarray(4))) verified = true;
  }
  if (!verified) {
    throw new AuditError(
      'CHECKPOINT_SIGNATURE_INVALID',
      sawKey ? `signature by ${verifier.name} is invalid` : `no signature by ${verifier.name}`,
    );
  }
  return text;
}
