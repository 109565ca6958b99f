import fs from 'node:fs';
for (const f of fs.readdirSync('.tmp/prof')) {
  const p = JSON.parse(fs.readFileSync('.tmp/prof/' + f));
  const self = new Map();
  const dt = p.timeDeltas; const total = (p.endTime - p.startTime) / 1000;
  const byId = new Map(p.nodes.map(n => [n.id, n]));
  const t = new Map();
  for (let i = 0; i < p.samples.length; i++) t.set(p.samples[i], (t.get(p.samples[i]) ?? 0) + (dt[i] ?? 0));
  for (const [id, us] of t) { const n = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + us); }
  const idle = [...self].filter(([k]) => k.startsWith('(idle)') || k.startsWith('(program)') || k.startsWith('(garbage')).map(([k,v])=>`${k.split(' ')[0]}=${(v/1000).toFixed(0)}ms`).join(' ');
  console.log('\n==', f, 'wall', total.toFixed(0), 'ms', idle);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log((v / 1000).toFixed(0).padStart(7), k);
}
