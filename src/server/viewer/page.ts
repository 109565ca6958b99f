/**
 * The collector's web viewer: one HTML page and one script, served as they are (no build step,
 * no framework). The page holds no data: after sign-in with a reader token (kept in
 * sessionStorage), the script calls the same API as any client. Every value from the trail is
 * attacker-controlled and goes into the DOM as text, never as HTML.
 */
import { CHARTS_JS } from './charts.js';
import { CONVERSATION_JS } from './conversation-view.js';
import { INTEGRITY_JS } from './integrity-panel.js';
import { LIVE_TAIL_JS } from './live-tail.js';

/** Content-Security-Policy of the viewer: its own script, the API, nothing else. */
export const VIEWER_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The viewer page. */
export const VIEWER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sealtrail viewer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 10px 16px; display: flex; gap: 16px; align-items: center; }
  header h1 { font-size: 16px; margin: 0; }
  main { padding: 16px; display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; }
  section { background: #fff; border: 1px solid #d9dde5; border-radius: 6px; padding: 12px; min-width: 0; overflow-x: auto; }
  #signin { max-width: 420px; margin: 40px auto; }
  input, select, button { font: inherit; padding: 4px 6px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eceff3; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 220px; }
  tbody tr { cursor: pointer; }
  tbody tr:hover { background: #eef3ff; }
  .sev-warning { color: #9a6700; } .sev-critical { color: #b3261e; font-weight: 600; }
  pre { white-space: pre-wrap; word-break: break-all; background: #f6f7f9; padding: 8px; max-height: 420px; overflow: auto; }
  .ok { color: #1a7f37; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; }
  form.filters { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }
  [hidden] { display: none !important; }
  h2 { font-size: 15px; margin: 0 0 8px; } h3 { font-size: 14px; margin: 8px 0; }
  dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 10px; margin: 0 0 8px; }
  dl.facts dt { color: #5b6478; } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
  code { font-size: 12px; overflow-wrap: anywhere; }
  tr.new { background: #fff7d6; }
  .chart { margin-bottom: 6px; } .chart svg { width: 100%; height: auto; display: block; }
  .legend { font-size: 12px; color: #5b6478; } .legend span { margin-right: 10px; white-space: nowrap; }
  .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 3px; vertical-align: -1px; }
  ol.turns { list-style: none; padding: 0; margin: 0; }
  ol.turns > li { border-left: 3px solid #d9dde5; padding: 2px 0 2px 10px; margin-bottom: 10px; }
  .entry { margin: 6px 0; padding: 6px; background: #f6f7f9; border-radius: 4px; }
  .entry .head { font-size: 12px; color: #5b6478; display: flex; gap: 8px; flex-wrap: wrap; }
  .entry .text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0 0; }
  .label { font-weight: 600; margin-right: 4px; }
  .block { color: #b3261e; font-weight: 600; } .allow { color: #1a7f37; } .warn { color: #9a6700; }
  .wide { grid-column: 1 / -1; }
</style>
</head>
<body>
<header><h1>sealtrail</h1><span id="origin"></span><span id="integrity"></span><button id="signout" hidden>Sign out</button></header>
<section id="signin">
  <h2>Sign in</h2>
  <p>Paste a reader token (<code>sealtrail token create --scopes read</code>).</p>
  <form id="signin-form"><input id="token" type="password" autocomplete="off" size="40" aria-label="token"> <button id="signin-button" type="submit">Sign in</button></form>
  <p id="signin-error" class="bad" role="alert"></p>
</section>
<main id="app" hidden>
  <section id="integrity-panel">
    <h2>Integrity</h2>
    <dl class="facts">
      <dt>checkpoint</dt><dd id="cp-summary">…</dd>
      <dt>signature</dt><dd id="cp-signature">…</dd>
      <dt>verifier key</dt><dd><code id="vkey"></code><br><span id="vkey-source"></span></dd>
      <dt>verification</dt><dd id="verify-status">…</dd>
      <dt>seals</dt><dd id="seal-status">…</dd>
    </dl>
    <form id="pin-form"><input id="pin-key" size="40" placeholder="verifier key to trust (name+hash+key)" aria-label="verifier key to pin"> <button type="submit" id="pin">Pin key</button> <button type="button" id="recheck">Check again</button></form>
  </section>
  <section id="charts-panel">
    <h2>Activity <select id="chart-window" aria-label="chart window"><option value="1h">last hour</option><option value="24h" selected>last 24 hours</option><option value="7d">last 7 days</option></select> <button id="charts-refresh" type="button">Refresh</button></h2>
    <div class="chart" id="chart-events"></div>
    <div class="chart" id="chart-blocks"></div>
    <div class="chart" id="chart-auth"></div>
  </section>
  <section>
    <form class="filters" id="filters">
      <input name="type" placeholder="type (auth.*)" aria-label="type">
      <input name="actor" placeholder="actor" aria-label="actor">
      <input name="conversation" placeholder="conversation" aria-label="conversation">
      <select name="severity" aria-label="severity"><option value="">any severity</option><option>info</option><option>notice</option><option>warning</option><option>critical</option></select>
      <input name="since" placeholder="since (1h, 7d)" aria-label="since">
      <button type="submit" id="apply">Filter</button>
      <label><input type="checkbox" id="live"> Live</label> <span id="live-status"></span>
    </form>
    <table><thead><tr><th>time</th><th>type</th><th>severity</th><th>actor</th><th>outcome</th><th>producer</th></tr></thead><tbody id="rows"></tbody></table>
    <p><button id="more" hidden>More</button> <span id="count"></span></p>
  </section>
  <section id="detail-panel">
    <h2>Event</h2>
    <p id="detail-empty">Select an event.</p>
    <div id="detail" hidden>
      <p><button id="verify">Verify inclusion proof</button> <button id="open-conversation" hidden>Open conversation</button> <span id="proof"></span></p>
      <pre id="detail-json"></pre>
    </div>
    <form id="conversation-form"><input id="conversation-id" placeholder="conversation id" aria-label="conversation id"> <button type="submit" id="conversation-open">Open conversation</button></form>
    <div id="conversation" hidden>
      <h2>Conversation <span id="conv-title"></span></h2>
      <dl class="facts" id="conv-facts"></dl>
      <ol class="turns" id="turns"></ol>
    </div>
  </section>
</main>
<script src="/viewer.js"></script>
</body>
</html>
`;

/** The viewer script (plain ES2020, run as is by the browser), its panels inside one closure. */
export const VIEWER_JS = `'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  // Code points that hide or reorder text on screen (controls, bidi, zero-width, BOM, line
  // separators) shown as JSON escapes, so a stored value cannot pass for another (Trojan Source).
  // Tab and line feed stay. The same escapes are valid in the JSON of the detail pane.
  const HIDDEN_RE = /[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060\\u2066-\\u2069\\ufeff]/g;
  const visible = (s) => s.replace(HIDDEN_RE, (c) => '\\\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  let token = sessionStorage.getItem('sealtrail-token') || '';
  let cursor = null;
  let selected = null;
  // The highest seq shown in the table: the live tail asks for what comes after it.
  let newestSeq = -1;

  async function api(path) {
    const res = await fetch(path, { headers: { authorization: 'Bearer ' + token } });
    if (res.status === 401) { signOut('That token was not accepted.'); throw new Error('unauthorized'); }
    const body = res.headers.get('content-type')?.startsWith('application/json') ? await res.json() : await res.text();
    if (!res.ok) throw new Error((body && body.message) || ('HTTP ' + res.status));
    return body;
  }

  function signOut(message) {
    token = '';
    sessionStorage.removeItem('sealtrail-token');
    $('app').hidden = true; $('signout').hidden = true; $('signin').hidden = false;
    $('signin-error').textContent = message || '';
  }

  async function signIn(t) {
    token = t;
    try { await api('/v1/events?limit=1'); } catch (e) { if (token) $('signin-error').textContent = e.message; return; }
    sessionStorage.setItem('sealtrail-token', token);
    $('signin').hidden = true; $('app').hidden = false; $('signout').hidden = false;
    loadHealth();
    loadIntegrity();
    loadCharts();
    search(true);
  }

  // The header's verify line is set by the integrity panel (one verification per check).
  async function loadHealth() {
    try { $('origin').textContent = (await loadHealthz()).origin; } catch (e) { $('origin').textContent = ''; }
  }

  function filterQuery() {
    const p = new URLSearchParams();
    for (const [k, v] of new FormData($('filters'))) if (String(v).trim() !== '') p.set(k, String(v).trim());
    return p;
  }

  async function search(reset) {
    const p = filterQuery();
    p.set('limit', '50');
    if (reset) { cursor = null; newestSeq = -1; $('rows').textContent = ''; stopLive(); }
    else if (cursor) p.set('cursor', cursor);
    let page;
    try { page = await api('/v1/events?' + p.toString()); }
    catch (e) { $('count').textContent = e.message; return; }
    for (const ev of page.events) { $('rows').appendChild(row(ev)); if (ev.seq > newestSeq) newestSeq = ev.seq; }
    if (reset && $('live').checked) startLive();
    cursor = page.nextCursor;
    $('more').hidden = cursor === null;
    $('count').textContent = $('rows').children.length + ' events';
  }

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text == null ? '' : visible(String(text));
    if (cls) td.className = cls;
    return td;
  }

  function row(ev) {
    const tr = document.createElement('tr');
    tr.dataset.id = ev.id;
    tr.append(
      cell(ev.ts), cell(ev.type), cell(ev.severity, 'sev-' + ev.severity),
      cell(ev.actor && ev.actor.id), cell(ev.outcome), cell(ev.meta && ev.meta.producer),
    );
    tr.addEventListener('click', () => show(ev.id));
    return tr;
  }

  async function show(id) {
    const { event } = await api('/v1/events/' + encodeURIComponent(id));
    selected = event;
    $('detail-empty').hidden = true; $('detail').hidden = false;
    $('detail-json').textContent = visible(JSON.stringify(event, null, 2));
    $('proof').textContent = ''; $('proof').className = '';
    const conv = event.conversation && typeof event.conversation.id === 'string' ? event.conversation.id : null;
    $('open-conversation').hidden = conv === null;
    $('open-conversation').dataset.id = conv || '';
  }

  // RFC 6962 hashing with WebCrypto: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || l || r).
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  async function sha256(...parts) {
    const len = parts.reduce((n, p) => n + p.length, 0);
    const buf = new Uint8Array(len); let o = 0;
    for (const p of parts) { buf.set(p, o); o += p.length; }
    return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  }
  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

  // RFC 9162 section 2.1.3.2: the root from a leaf hash and its inclusion proof.
  async function rootFromProof(index, size, leafHash, path) {
    if (index >= size) throw new Error('index beyond tree size');
    let fn = index, sn = size - 1, r = leafHash;
    for (const p of path) {
      if (sn === 0) throw new Error('proof too long');
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(Uint8Array.of(1), p, r);
        if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await sha256(Uint8Array.of(1), r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error('proof too short');
    return r;
  }

  // Object keys sorted at every level: two JSON values compare equal whatever their key order.
  const stable = (v) => JSON.stringify(v, (k, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((n) => [n, x[n]])) : x);

  // The proof covers the leaf's bytes; this checks that they are the entry on screen: the same seq,
  // every event field equal, the same content fields (whose values the leaf commits to by digest).
  function checkShownIsLeaf(event, leaf, index) {
    const rec = JSON.parse(new TextDecoder().decode(leaf));
    if (rec.seq !== index || event.seq !== index) throw new Error('the proof is for entry ' + rec.seq + ', not the one shown');
    // What the reader added to the stored event: its seq, payloads, erased / withheld / sealed fields.
    const { seq, content, erased, contentWithheld, contentSealed, ...shown } = event;
    if (stable(shown) !== stable(rec.event)) throw new Error('the entry shown differs from the entry the proof covers');
    const names = [...Object.keys(content || {}), ...(erased || []), ...(contentWithheld || [])].sort();
    if (stable(names) !== stable(Object.keys(rec.content || {}).sort()))
      throw new Error('the content fields shown differ from the ones the proof covers');
  }

  async function verifySelected() {
    const out = $('proof');
    out.className = ''; out.textContent = 'checking…';
    try {
      const proof = await api('/v1/proof/inclusion?id=' + encodeURIComponent(selected.id));
      const leafHash = await sha256(Uint8Array.of(0), b64(proof.leaf));
      if (!equal(leafHash, b64(proof.leafHash))) throw new Error('leaf hash does not match the entry');
      checkShownIsLeaf(selected, b64(proof.leaf), proof.index);
      const lines = proof.checkpoint.split('\\n');
      const size = Number(lines[1]);
      const root = b64(lines[2]);
      if (size !== proof.treeSize) throw new Error('proof is for another tree size');
      const computed = await rootFromProof(proof.index, proof.treeSize, leafHash, proof.hashes.map(b64));
      if (!equal(computed, root)) throw new Error('proof does not lead to the checkpoint root');
      // The checkpoint itself: signed by the trusted key (integrity panel).
      const signed = await verifyCheckpoint(proof.checkpoint, await trustedKey());
      out.className = 'ok';
      out.textContent = 'inclusion verified in this browser: entry ' + proof.index + ' of ' + size + ', root ' + lines[2] + ', checkpoint signed by ' + signed.keyName;
    } catch (e) {
      out.className = 'bad';
      out.textContent = 'not verified: ' + e.message;
    }
  }

${INTEGRITY_JS}
${CHARTS_JS}
${CONVERSATION_JS}
${LIVE_TAIL_JS}
  $('signin-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('token').value.trim()); });
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); search(true); });
  $('live').addEventListener('change', () => { if ($('live').checked) startLive(); else stopLive(); });
  $('pin-form').addEventListener('submit', (e) => { e.preventDefault(); pinKey($('pin-key').value.trim()); });
  $('recheck').addEventListener('click', loadIntegrity);
  $('chart-window').addEventListener('change', loadCharts);
  $('charts-refresh').addEventListener('click', loadCharts);
  $('open-conversation').addEventListener('click', () => openConversation($('open-conversation').dataset.id));
  $('conversation-form').addEventListener('submit', (e) => { e.preventDefault(); openConversation($('conversation-id').value.trim()); });
  $('more').addEventListener('click', () => search(false));
  $('verify').addEventListener('click', verifySelected);
  $('signout').addEventListener('click', () => signOut(''));
  if (token) signIn(token);
})();
`;
