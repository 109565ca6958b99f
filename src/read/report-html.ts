/**
 * The compliance report as one self-contained HTML file: inline CSS and inline SVG charts, no
 * script, no external asset, readable by a person who never used the tool. Every number taken
 * from the JSON report carries `data-metric` (its JSON path), so a test can hold the page to the
 * JSON. Every string from the trail is rendered visibly (control and bidi characters as escapes)
 * and HTML-escaped: a hostile actor id cannot inject markup or reorder the text.
 */
import { renderVisible } from '../event/index.js';
import type { ComplianceReport, Ranked } from './report.js';

type Path = ReadonlyArray<string | number>;

function esc(s: unknown): string {
  return renderVisible(String(s))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/** A number from the report, tagged with its JSON path; `-` where the store has none. */
function metric(path: Path, value: number | null): string {
  if (value === null) return '-';
  return `<span class="num" data-metric="${esc(JSON.stringify(path))}">${fmt(value)}</span>`;
}

function rankedTable(title: string, rows: Ranked[], path: Path, keyHeader = 'value'): string {
  if (rows.length === 0) return `<p class="muted">${esc(title)}: none in this period.</p>`;
  const body = rows
    .map(
      (r, i) => `<tr><td>${esc(r.key)}</td><td class="r">${metric([...path, i, 'count'], r.count)}</td></tr>`,
    )
    .join('');
  return `<table><caption>${esc(title)}</caption><thead><tr><th>${esc(keyHeader)}</th><th class="r">entries</th></tr></thead><tbody>${body}</tbody></table>`;
}

/** Horizontal bar chart of ranked counts. */
function barChart(title: string, rows: Ranked[], max = 15): string {
  const items = rows.slice(0, max);
  if (items.length === 0) return '';
  const rowH = 22;
  const labelW = 220;
  const barW = 360;
  const peak = Math.max(...items.map((r) => r.count), 1);
  const h = items.length * rowH + 8;
  const bars = items
    .map((r, i) => {
      const y = i * rowH + 4;
      const w = Math.max(1, Math.round((r.count / peak) * barW));
      const label = renderVisible(r.key);
      const shown = label.length > 32 ? `${label.slice(0, 31)}…` : label;
      return `<g><title>${esc(r.key)}: ${fmt(r.count)}</title><text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(shown)}</text><rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 8}" rx="2"></rect><text x="${labelW + w + 6}" y="${y + 15}">${fmt(r.count)}</text></g>`;
    })
    .join('');
  return `<figure><svg class="chart" role="img" aria-label="${esc(title)}" width="${labelW + barW + 80}" height="${h}" viewBox="0 0 ${labelW + barW + 80} ${h}" xmlns="http://www.w3.org/2000/svg">${bars}</svg><figcaption>${esc(title)}</figcaption></figure>`;
}

/** Vertical bars, one per day. */
function dayChart(days: Array<{ day: string; count: number }>): string {
  if (days.length === 0) return '';
  const chartH = 160;
  const step = Math.max(4, Math.min(40, Math.floor(640 / days.length)));
  const w = Math.max(360, days.length * step + 60);
  const peak = Math.max(...days.map((d) => d.count), 1);
  const bars = days
    .map((d, i) => {
      const bh = Math.max(1, Math.round((d.count / peak) * chartH));
      const x = 50 + i * step;
      return `<g><title>${esc(d.day)}: ${fmt(d.count)}</title><rect x="${x}" y="${chartH - bh + 10}" width="${Math.max(2, step - 2)}" height="${bh}"></rect></g>`;
    })
    .join('');
  const first = days[0]!.day;
  const last = days.at(-1)!.day;
  return `<figure><svg class="chart" role="img" aria-label="entries per day" width="${w}" height="${chartH + 40}" viewBox="0 0 ${w} ${chartH + 40}" xmlns="http://www.w3.org/2000/svg"><text x="45" y="18" text-anchor="end">${fmt(peak)}</text><line x1="48" y1="10" x2="48" y2="${chartH + 10}"></line>${bars}<text x="50" y="${chartH + 30}">${esc(first)}</text><text x="${w - 10}" y="${chartH + 30}" text-anchor="end">${esc(last)}</text></svg><figcaption>Entries per day (UTC)</figcaption></figure>`;
}

function card(label: string, path: Path, value: number, tone = ''): string {
  return `<div class="card ${tone}"><div class="big">${metric(path, value)}</div><div>${esc(label)}</div></div>`;
}

const CSS = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;margin:0;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 8px;border-bottom:1px solid #dde1e7;padding-bottom:4px}
.muted{color:#5b6475}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.card{flex:1 1 150px;border:1px solid #dde1e7;border-radius:8px;padding:10px 12px;background:#fafbfc}
.card .big{font-size:24px;font-weight:600}.card.bad{border-color:#d33;background:#fdf1f1}.card.good{border-color:#2a8a4a;background:#f0f9f3}
table{border-collapse:collapse;margin:8px 0 14px;min-width:340px}caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border-bottom:1px solid #e6e9ee;padding:4px 10px;text-align:left;vertical-align:top}th{background:#f2f4f7}.r{text-align:right}
svg.chart{max-width:100%;height:auto;font-size:12px}svg.chart rect{fill:#3b6fd4}svg.chart line{stroke:#8a93a3}
figure{margin:8px 0 16px}figcaption{font-size:13px;color:#5b6475}.ok{color:#2a8a4a;font-weight:600}.fail{color:#c22;font-weight:600}
code{background:#f2f4f7;padding:1px 4px;border-radius:3px;word-break:break-all}
`;

/** The report as a self-contained HTML document. */
export function renderReportHtml(r: ComplianceReport): string {
  const period = `${r.period.from ?? 'the first entry'} to ${r.period.to ?? 'now'}`;
  const v = r.integrity.verify;
  const verdict =
    v === null
      ? '<span class="muted">not run for this report</span>'
      : v.ok
        ? `<span class="ok">OK</span>: every one of ${metric(['integrity', 'verify', 'entries'], v.entries)} entries, chain link, content commitment, Merkle root and checkpoint signature checked`
        : `<span class="fail">FAILED</span>: ${esc(v.failure)}`;
  const cp = r.integrity.latestCheckpoint;
  const seals = r.integrity.seals;
  const models = r.totals.byModel
    .map(
      (m, i) =>
        `<tr><td>${m.provider === null ? '<span class="muted">none</span>' : esc(m.provider)}</td><td>${esc(m.name)}</td><td class="r">${metric(['totals', 'byModel', i, 'count'], m.count)}</td><td class="r">${metric(['totals', 'byModel', i, 'inputTokens'], m.inputTokens)}</td><td class="r">${metric(['totals', 'byModel', i, 'outputTokens'], m.outputTokens)}</td></tr>`,
    )
    .join('');
  const gaps = r.gaps.periods
    .slice(0, 50)
    .map(
      (g, i) =>
        `<tr><td>${esc(g.from)}</td><td>${esc(g.to)}</td><td class="r">${metric(['gaps', 'periods', i, 'minutes'], g.minutes)}</td></tr>`,
    )
    .join('');
  const issues = r.issues.list
    .slice(0, 50)
    .map((i) => `<tr><td>${i.seq ?? ''}</td><td>${esc(i.file)}</td><td>${esc(i.reason)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Audit trail report — ${esc(r.origin)}</title><style>${CSS}</style></head>
<body><main>
<h1>Audit trail compliance report</h1>
<p class="muted">Trail <code>${esc(r.origin)}</code> · period ${esc(period)} · generated ${esc(r.generatedAt)} by Sealtrail</p>
<p>This report summarises what an AI system recorded in its tamper-evident audit trail during the period: how much
happened, what the guardrails blocked, failed logins, access to personal data, administrative changes, erasures, and
whether the trail itself is intact. Each entry in the trail is sealed with a hash chain, a Merkle tree and signed
checkpoints, so changing, removing or inserting an entry afterwards is detected by the integrity check below.</p>
<div class="cards">
${card('entries in the period', ['totals', 'entries'], r.totals.entries)}
${card('guardrail blocks', ['guardrails', 'blocks'], r.guardrails.blocks, r.guardrails.blocks > 0 ? 'bad' : '')}
${card('authentication failures', ['authFailures', 'count'], r.authFailures.count, r.authFailures.count > 0 ? 'bad' : '')}
${card('data access events', ['dataAccess', 'count'], r.dataAccess.count)}
${card('admin actions', ['adminActions', 'count'], r.adminActions.count)}
${card('erasures', ['erasures', 'events'], r.erasures.events)}
${card('key rotations', ['keyRotations', 'count'], r.keyRotations.count)}
</div>
<p>Integrity of the whole trail: ${verdict}.</p>

<h2>Volume</h2>
<p>Every recorded event, by day, by category and by type.</p>
${dayChart(r.totals.byDay)}
${barChart('Entries by category', r.totals.byCategory)}
${rankedTable('By category', r.totals.byCategory, ['totals', 'byCategory'], 'category')}
${barChart('Entries by type (top 15)', r.totals.byType)}
${rankedTable('By type', r.totals.byType, ['totals', 'byType'], 'type')}
${rankedTable('By severity', r.totals.bySeverity, ['totals', 'bySeverity'], 'severity')}
${rankedTable('By outcome', r.totals.byOutcome, ['totals', 'byOutcome'], 'outcome')}
${models === '' ? '<p class="muted">No model calls in this period.</p>' : `<table><caption>Models</caption><thead><tr><th>provider</th><th>model</th><th class="r">entries</th><th class="r">input tokens</th><th class="r">output tokens</th></tr></thead><tbody>${models}</tbody></table>`}

<h2>Guardrails</h2>
<p>Safety checks on model inputs and outputs: ${metric(['guardrails', 'decisions'], r.guardrails.decisions)} decisions, of which
${metric(['guardrails', 'blocks'], r.guardrails.blocks)} blocked and ${metric(['guardrails', 'warnings'], r.guardrails.warnings)} warned.</p>
${barChart('Blocks by guardrail', r.guardrails.blockedBy)}
${rankedTable('Blocks by guardrail', r.guardrails.blockedBy, ['guardrails', 'blockedBy'], 'guardrail')}
${rankedTable('Reasons given for blocks', r.guardrails.blockReasons, ['guardrails', 'blockReasons'], 'reason')}

<h2>Authentication failures</h2>
<p>${metric(['authFailures', 'count'], r.authFailures.count)} failed authentication attempts.</p>
${rankedTable('By account', r.authFailures.byActor, ['authFailures', 'byActor'], 'account')}
${rankedTable('By address', r.authFailures.byIp, ['authFailures', 'byIp'], 'IP address')}

<h2>Data access and administrative actions</h2>
<p>${metric(['dataAccess', 'count'], r.dataAccess.count)} data events touching ${metric(['dataAccess', 'distinctSubjects'], r.dataAccess.distinctSubjects)} distinct data subjects;
${metric(['adminActions', 'count'], r.adminActions.count)} administrative actions.</p>
${rankedTable('Data events by type', r.dataAccess.byType, ['dataAccess', 'byType'], 'type')}
${rankedTable('Data events by actor', r.dataAccess.byActor, ['dataAccess', 'byActor'], 'actor')}
${rankedTable('Admin actions by type', r.adminActions.byType, ['adminActions', 'byType'], 'type')}
${rankedTable('Admin actions by actor', r.adminActions.byActor, ['adminActions', 'byActor'], 'actor')}

<h2>Erasures, key rotations and reads of the trail</h2>
<p>${metric(['erasures', 'events'], r.erasures.events)} erasure events (GDPR Art. 17 and content expiry);
${metric(['erasures', 'entriesWithErasedContent'], r.erasures.entriesWithErasedContent)} entries of the period have
${metric(['erasures', 'erasedFields'], r.erasures.erasedFields)} erased content fields (their commitments remain, so the trail still verifies).
${metric(['keyRotations', 'count'], r.keyRotations.count)} key rotations.
The trail itself was read ${metric(['trailReads', 'count'], r.trailReads.count)} times through the command line.</p>
${rankedTable('Reads of the trail by reader', r.trailReads.byActor, ['trailReads', 'byActor'], 'reader')}

<h2>Integrity</h2>
<table><tbody>
<tr><th>verification of the whole trail</th><td>${verdict}</td></tr>
<tr><th>latest signed checkpoint</th><td>${cp === null ? 'none yet' : `${metric(['integrity', 'latestCheckpoint', 'size'], cp.size)} entries${cp.time === null ? '' : `, issued ${esc(cp.time)}`}; signature ${cp.signatureVerified ? '<span class="ok">valid</span>' : '<span class="fail">INVALID</span>'}`}</td></tr>
<tr><th>checkpoints issued</th><td>${metric(['integrity', 'checkpoints'], r.integrity.checkpoints)}</td></tr>
<tr><th>forward-secure seals</th><td>${metric(['integrity', 'seals', 'count'], seals.count)} epochs sealed${seals.lastEnd === null ? '' : `, the last up to ${esc(seals.lastEnd)}`}; ${seals.verified === null ? 'not verified (needs the seal seed kept offline)' : seals.verified ? '<span class="ok">verified</span>' : '<span class="fail">FAILED</span>'}</td></tr>
</tbody></table>

<h2>Retention</h2>
<table><tbody>
<tr><th>policy</th><td>${r.retention.policy === null ? 'none configured: everything is kept' : `<code>${esc(JSON.stringify(r.retention.policy))}</code>`}</td></tr>
<tr><th>oldest entry kept</th><td>${esc(r.retention.oldestEntry ?? 'none')}</td></tr>
<tr><th>segments (sealed)</th><td>${metric(['retention', 'segments'], r.retention.segments)} (${metric(['retention', 'sealedSegments'], r.retention.sealedSegments)})</td></tr>
<tr><th>size on disk (bytes)</th><td>${metric(['retention', 'bytesOnDisk'], r.retention.bytesOnDisk)}</td></tr>
<tr><th>policy problems</th><td>${r.retention.policyError === null ? 'none' : `<span class="fail">${esc(r.retention.policyError)}</span>`}</td></tr>
<tr><th>pruned</th><td>${r.retention.pruned === null ? 'nothing: the trail starts at entry 0' : `entries before ${metric(['retention', 'pruned', 'firstKept'], r.retention.pruned.firstKept)} (${esc(r.retention.pruned.oldest ?? '-')} to ${esc(r.retention.pruned.newest ?? '-')}), behind a signed boundary; last pruned ${esc(r.retention.pruned.at)}`}</td></tr>
<tr><th>archived segments (gzip)</th><td>${metric(['retention', 'archivedSegments'], r.retention.archivedSegments)}</td></tr>
<tr><th>legal holds</th><td>${r.retention.legalHolds.length === 0 ? 'none' : r.retention.legalHolds.map((h) => `${esc(h.id)}: ${esc(h.reason)} (since ${esc(h.createdAt)}; ${esc(h.scope)})`).join('<br>')}</td></tr>
<tr><th>retention actions in the period</th><td>${r.retention.actions.length === 0 ? 'none' : r.retention.actions.map((a) => `${esc(a.key)} ${a.count}`).join(', ')}</td></tr>
</tbody></table>

<h2>Gaps</h2>
<p>${metric(['gaps', 'count'], r.gaps.count)} periods of more than ${metric(['gaps', 'thresholdMinutes'], r.gaps.thresholdMinutes)} minutes without any event
(a quiet night, or a system that stopped recording)${r.gaps.count > 50 ? `, the first 50 listed below${r.gaps.periods.length < r.gaps.count ? ` (the JSON report lists the first ${fmt(r.gaps.periods.length)})` : ''}` : ''}; ${metric(['gaps', 'droppedEvents'], r.gaps.droppedEvents)} events reported dropped in
${metric(['gaps', 'overflowRecords'], r.gaps.overflowRecords)} overflow records; ${metric(['gaps', 'recoveries'], r.gaps.recoveries)} crash recoveries.</p>
${gaps === '' ? '<p class="muted">No gaps.</p>' : `<table><caption>Quiet periods</caption><thead><tr><th>from</th><th>to</th><th class="r">minutes</th></tr></thead><tbody>${gaps}</tbody></table>`}
${r.issues.count === 0 ? '' : `<h2>Unreadable lines</h2><p class="fail">${metric(['issues', 'count'], r.issues.count)} lines could not be read and were left out of this report.</p><table><thead><tr><th>seq</th><th>file</th><th>reason</th></tr></thead><tbody>${issues}</tbody></table>`}
</main></body></html>
`;
}
