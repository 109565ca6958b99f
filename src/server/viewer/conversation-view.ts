/**
 * The viewer's conversation view (a fragment of the viewer script, run inside its closure): the
 * turns of `GET /v1/conversations/:id` in order, each entry with its time, type, actor and
 * integrity status (inclusion in the signed checkpoint and content commitments, checked by the
 * collector), and what it holds: prompt, response, tool call, retrieval, guardrail decisions.
 * Payloads withheld from a reader without `read:content` are named, not shown.
 * Written with `String.raw`: the script's escapes reach the browser as written.
 */
export const CONVERSATION_JS = String.raw`
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = visible(String(text));
    return e;
  }

  const asText = (v) => typeof v === 'string' ? v : JSON.stringify(v, null, 2);

  function fact(dl, name, value) {
    dl.append(el('dt', '', name), el('dd', '', value));
  }

  function integrityBadge(integrity) {
    if (!integrity) return el('span', '', '');
    if (integrity.status === 'verified') return el('span', 'ok integrity', '\u2713 verified in checkpoint ' + integrity.checkpointSize);
    if (integrity.status === 'unsigned') return el('span', 'warn integrity', 'not yet in a signed checkpoint');
    return el('span', 'bad integrity', '\u2717 ' + (integrity.reason || 'failed'));
  }

  function line(box, name, value) {
    const p = el('div', 'text');
    p.append(el('span', 'label', name), visible(asText(value)));
    box.appendChild(p);
  }

  function entryView(item) {
    const e = item.entry;
    const box = el('div', 'entry');
    box.dataset.type = e.type;
    const head = el('div', 'head');
    head.append(el('span', '', e.ts), el('strong', '', e.type), el('span', '', e.actor && e.actor.id), integrityBadge(item.integrity));
    box.appendChild(head);
    const c = e.content || {};
    if (c.prompt !== undefined) line(box, 'prompt', c.prompt);
    if (e.type.startsWith('tool.') || c.toolArgs !== undefined) {
      const what = [e.resource && e.resource.id, e.action].filter(Boolean).join(' ');
      if (what) line(box, 'tool call', what);
      if (c.toolArgs !== undefined) line(box, 'arguments', c.toolArgs);
      if (c.toolResult !== undefined) line(box, 'result', c.toolResult);
    }
    if (e.type.startsWith('rag.') || c.documents !== undefined) {
      if (e.resource) line(box, 'retrieval', [e.resource.type, e.resource.id].filter(Boolean).join(' '));
      if (c.query !== undefined) line(box, 'query', c.query);
      if (c.documents !== undefined) line(box, 'documents', c.documents);
    }
    if (c.response !== undefined) line(box, 'response', c.response);
    for (const [k, v] of Object.entries(c)) {
      if (!['prompt', 'response', 'toolArgs', 'toolResult', 'documents', 'query'].includes(k)) line(box, k, v);
    }
    if (Array.isArray(e.guardrails)) {
      for (const g of e.guardrails) {
        const p = el('div', 'text');
        p.append(el('span', 'label', 'guardrail ' + g.name), el('span', g.decision === 'block' ? 'block' : g.decision === 'allow' ? 'allow' : 'warn', g.decision));
        if (g.reason) p.append(' \u2014 ' + visible(String(g.reason)));
        box.appendChild(p);
      }
    }
    if (e.outcome) line(box, 'outcome', e.outcome);
    if (Array.isArray(e.contentWithheld)) line(box, 'withheld', e.contentWithheld.join(', ') + ' (a token with read:content shows them)');
    if (e.contentSealed) line(box, 'sealed', Object.keys(e.contentSealed).join(', ') + ' (could not be decrypted)');
    if (Array.isArray(e.erased)) line(box, 'erased', e.erased.join(', '));
    box.addEventListener('click', () => show(e.id));
    return box;
  }

  async function openConversation(id) {
    if (!id) return;
    let view;
    try { view = await api('/v1/conversations/' + encodeURIComponent(id)); }
    catch (e) { $('conversation').hidden = false; $('conv-title').textContent = visible(id + ': ' + e.message); return; }
    $('conversation').hidden = false;
    $('conv-title').textContent = visible(view.id);
    const facts = $('conv-facts');
    facts.textContent = '';
    fact(facts, 'entries', view.entries + ' from ' + view.firstTs + ' to ' + view.lastTs);
    fact(facts, 'actors', view.actors.join(', '));
    fact(facts, 'models', view.models.join(', '));
    const pruned = view.pruned;
    if (pruned) {
      const span = pruned.oldestTs ? ' (written ' + pruned.oldestTs + ' to ' + pruned.newestTs + ')' : '';
      fact(facts, 'pruned', "the trail's entries before seq " + pruned.beforeSeq + span + ' are no longer stored; earlier entries of this conversation may have been among them');
    }
    const i = view.integrity;
    const integrity = el('dd', i.failed > 0 ? 'bad' : 'ok', i.verified + ' verified, ' + i.unsigned + ' not yet signed, ' + i.failed + ' failed');
    integrity.id = 'conv-integrity';
    facts.append(el('dt', '', 'integrity'), integrity);
    const turns = $('turns');
    turns.textContent = '';
    for (const t of view.turns) {
      const li = el('li', 'turn');
      li.appendChild(el('h3', '', t.turn === null ? 'before the first turn' : 'Turn ' + t.turn));
      for (const item of t.entries) li.appendChild(entryView(item));
      turns.appendChild(li);
    }
    $('conversation').scrollIntoView({ block: 'nearest' });
  }
`;
