/**
 * The viewer's live tail (a fragment of the viewer script, run inside its closure): with "Live"
 * on, `GET /v1/tail` streams the entries appended after the newest one in the table that match
 * the filters (server-sent events read with fetch, since EventSource cannot send the bearer
 * token); each arrives at the top of the table, marked new, without a reload.
 * Written with `String.raw`: the script's escapes reach the browser as written.
 */
export const LIVE_TAIL_JS = String.raw`
  let live = null;

  function stopLive() {
    if (live) live.abort();
    live = null;
    $('live-status').textContent = '';
  }

  async function startLive() {
    stopLive();
    const ctl = new AbortController();
    live = ctl;
    const p = filterQuery();
    p.delete('since');
    if (newestSeq >= 0) p.set('after', String(newestSeq));
    let res;
    try {
      res = await fetch('/v1/tail?' + p.toString(), { headers: { authorization: 'Bearer ' + token }, signal: ctl.signal });
    } catch (e) { if (live === ctl) $('live-status').textContent = 'live: ' + e.message; return; }
    if (!res.ok) {
      // A refused tail (429: too many open) says why; shown as text.
      let why = 'HTTP ' + res.status;
      try { const body = await res.json(); if (typeof body.message === 'string') why += ': ' + body.message; } catch (e) {}
      if (live === ctl) $('live-status').textContent = 'live: ' + why;
      return;
    }
    $('live-status').textContent = 'live';
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const message = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = message.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data === '' || message.startsWith('event: error')) continue;
          const ev = JSON.parse(data);
          if (ev.seq <= newestSeq) continue;
          newestSeq = ev.seq;
          const tr = row(ev);
          tr.classList.add('new');
          $('rows').prepend(tr);
          $('count').textContent = $('rows').children.length + ' events';
        }
      }
    } catch (e) {
      if (live === ctl) $('live-status').textContent = 'live stopped: ' + e.message;
      return;
    }
    if (live === ctl) $('live-status').textContent = 'live ended';
  }
`;
