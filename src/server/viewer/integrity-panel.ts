/**
 * The viewer's integrity panel (a fragment of the viewer script, run inside its closure): the
 * latest checkpoint with its Ed25519 signature checked in the browser with WebCrypto (Chromium
 * ships Ed25519 in WebCrypto since version 137), against a verifier key pinned in this browser or,
 * until one is pinned, the key the collector serves; the key hash of the C2SP vkey is recomputed
 * too. Below it, the last full verification of the trail and its forward-secure seals.
 * Written with `String.raw`: the script's escapes reach the browser as written.
 */
export const INTEGRITY_JS = String.raw`
  const utf8 = (s) => new TextEncoder().encode(s);
  const hex = (a) => Array.from(a, (x) => x.toString(16).padStart(2, '0')).join('');
  let health = null;

  async function loadHealthz() {
    if (health === null) health = await (await fetch('/healthz')).json();
    return health;
  }

  // The key to check checkpoints with: the one pinned in this browser for this origin, else the served one.
  async function trustedKey() {
    const h = await loadHealthz();
    return localStorage.getItem('sealtrail-vkey:' + h.origin) || h.verifierKey;
  }

  function pinKey(vkey) {
    if (!health || vkey === '') return;
    localStorage.setItem('sealtrail-vkey:' + health.origin, vkey);
    $('pin-key').value = '';
    loadIntegrity();
  }

  // C2SP signed-note: body, blank line, lines "— name base64(keyhash[4] || sig[64])".
  // vkey: name+hex(keyhash)+base64(0x01 || ed25519 public key); keyhash = SHA-256(name "\n" 0x01 key)[:4].
  async function verifyCheckpoint(note, vkey) {
    // The key's base64 may hold '+': split at the first two only.
    const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(vkey);
    if (m === null) throw new Error('verifier key is not name+hash+key');
    const [, name, hashHex, keyB64] = m;
    const raw = b64(keyB64);
    if (raw.length !== 33 || raw[0] !== 1) throw new Error('verifier key is not an Ed25519 key');
    const pub = raw.subarray(1);
    const keyHash = (await sha256(utf8(name + '\n'), Uint8Array.of(1), pub)).subarray(0, 4);
    if (hex(keyHash) !== hashHex) throw new Error('verifier key hash does not match its key');
    const split = note.lastIndexOf('\n\n');
    if (split < 0) throw new Error('checkpoint has no signature block');
    const body = note.slice(0, split + 1);
    const lines = body.split('\n');
    if (lines[0] !== name) throw new Error('checkpoint origin is not the key name');
    const key = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
    for (const line of note.slice(split + 2).split('\n')) {
      if (!line.startsWith('\u2014 ')) continue;
      const [signer, sigB64] = line.slice(2).split(' ');
      if (signer !== name || !sigB64) continue;
      const sig = b64(sigB64);
      if (sig.length !== 68 || !equal(sig.subarray(0, 4), keyHash)) continue;
      if (await crypto.subtle.verify({ name: 'Ed25519' }, key, sig.subarray(4), utf8(body))) {
        return { keyName: name, size: Number(lines[1]), root: lines[2] };
      }
      throw new Error('checkpoint signature does not verify');
    }
    throw new Error('checkpoint carries no signature by this key');
  }

  function status(id, ok, text) {
    $(id).textContent = text;
    $(id).className = ok === null ? '' : ok ? 'ok' : 'bad';
  }

  async function loadIntegrity() {
    try {
      const h = await loadHealthz();
      const pinned = localStorage.getItem('sealtrail-vkey:' + h.origin);
      const vkey = pinned || h.verifierKey;
      $('vkey').textContent = vkey;
      $('vkey-source').textContent = pinned === null
        ? 'served by this collector: compare it with your own copy, then pin it'
        : pinned === h.verifierKey ? 'pinned in this browser' : 'pinned in this browser; the collector serves ANOTHER key';
      $('vkey-source').className = pinned !== null && pinned !== h.verifierKey ? 'bad' : '';
      const note = await api('/checkpoint');
      try {
        const cp = await verifyCheckpoint(note, vkey);
        status('cp-summary', null, 'tree size ' + cp.size + ', root ' + cp.root);
        status('cp-signature', true, 'Ed25519 signature verified in this browser (key ' + cp.keyName + ')');
      } catch (e) {
        status('cp-summary', null, note.split('\n').slice(0, 3).join(' '));
        status('cp-signature', false, 'NOT verified: ' + e.message);
      }
    } catch (e) {
      status('cp-signature', false, e.message);
    }
    try {
      const v = await api('/v1/verify');
      $('integrity').textContent = v.ok ? 'trail verified: ' + v.entries + ' entries' : 'VERIFY FAILED: ' + (v.failure && v.failure.code);
      $('integrity').className = v.ok ? 'ok' : 'bad';
      status('verify-status', v.ok, (v.ok ? 'verified ' : 'FAILED ' + (v.failure ? v.failure.code + ': ' + v.failure.message + ' ' : '')) +
        v.entries + ' entries, ' + v.checkpoints + ' checkpoints, at ' + v.verifiedAt +
        (v.unsignedTail > 0 ? ' (' + v.unsignedTail + ' entries after the latest checkpoint)' : ''));
      status('seal-status', v.seals ? true : null, v.seals
        ? v.seals.epochs + ' epochs sealed, through tree size ' + v.seals.lastSealedSize + ' (the tags are checked with the offline seed: sealtrail verify --seal-seed)'
        : 'no seals yet');
    } catch (e) {
      status('verify-status', false, e.message);
    }
  }
`;
