/**
 * The compliance report as Markdown, for tickets and pull requests. Strings from the trail are
 * rendered visibly and table cells escape `|`, so a hostile value cannot break the layout.
 */
import { renderVisible } from '../event/index.js';
import type { ComplianceReport, Ranked } from './report.js';

function cell(s: unknown): string {
  return renderVisible(String(s))
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/([`*_<>[\]])/g, '\\$1');
}

function table(title: string, header: string, rows: Ranked[]): string {
  if (rows.length === 0) return `${title}: none.\n`;
  return `**${title}**\n\n| ${header} | entries |\n| --- | ---: |\n${rows.map((r) => `| ${cell(r.key)} | ${r.count} |`).join('\n')}\n`;
}

/** A model given without a provider: emphasis, which no escaped value from the trail can make. */
const NO_PROVIDER = '*none*';

/** Quiet periods written out; the JSON report lists more (QUIET_PERIODS_LISTED). */
const GAPS_SHOWN = 50;

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** How many of the `found` quiet periods are listed, when not all: the list is cut, not the count. */
function listed(found: number, inJson: number): string {
  const shown = Math.min(inJson, GAPS_SHOWN);
  if (shown === found) return '';
  const json = inJson < found ? `; the JSON report lists the first ${count(inJson)}` : '';
  return ` (the first ${count(shown)} shown below${json})`;
}

/** The report as a Markdown document. */
export function renderReportMarkdown(r: ComplianceReport): string {
  const v = r.integrity.verify;
  const cp = r.integrity.latestCheckpoint;
  const s = r.integrity.seals;
  const out: string[] = [
    `# Audit trail compliance report`,
    '',
    `Trail \`${cell(r.origin)}\`, period ${r.period.from ?? 'the first entry'} to ${r.period.to ?? 'now'}, generated ${r.generatedAt}.`,
    '',
    '| measure | value |',
    '| --- | ---: |',
    `| entries | ${r.totals.entries} |`,
    `| guardrail blocks | ${r.guardrails.blocks} |`,
    `| authentication failures | ${r.authFailures.count} |`,
    `| data access events | ${r.dataAccess.count} |`,
    `| admin actions | ${r.adminActions.count} |`,
    `| erasures | ${r.erasures.events} |`,
    `| key rotations | ${r.keyRotations.count} |`,
    `| reads of the trail | ${r.trailReads.count} |`,
    '',
    `**Integrity:** ${v === null ? 'not verified for this report' : v.ok ? `OK, ${v.entries} entries verified` : `FAILED: ${cell(v.failure)}`}; latest signed checkpoint ${cp === null ? 'none' : `${cp.size} entries, signature ${cp.signatureVerified ? 'valid' : 'INVALID'}`}; ${r.integrity.checkpoints} checkpoints; ${s.count} seals${s.verified === null ? ' (not verified: needs the seal seed)' : s.verified ? ' verified' : ' FAILED'}.`,
    '',
    '## Volume',
    '',
    table('By category', 'category', r.totals.byCategory),
    table('By type', 'type', r.totals.byType),
    table('By severity', 'severity', r.totals.bySeverity),
    r.totals.byModel.length === 0
      ? 'Models: none.\n'
      : `**Models**\n\n| provider | model | entries | input tokens | output tokens |\n| --- | --- | ---: | ---: | ---: |\n${r.totals.byModel.map((m) => `| ${m.provider === null ? NO_PROVIDER : cell(m.provider)} | ${cell(m.name)} | ${m.count} | ${m.inputTokens} | ${m.outputTokens} |`).join('\n')}\n`,
    '## Guardrails',
    '',
    `${r.guardrails.decisions} decisions, ${r.guardrails.blocks} blocks, ${r.guardrails.warnings} warnings.`,
    '',
    table('Blocks by guardrail', 'guardrail', r.guardrails.blockedBy),
    table('Block reasons', 'reason', r.guardrails.blockReasons),
    '## Authentication failures',
    '',
    table('By account', 'account', r.authFailures.byActor),
    table('By address', 'IP address', r.authFailures.byIp),
    '## Data access and admin actions',
    '',
    `${r.dataAccess.distinctSubjects} distinct data subjects.`,
    '',
    table('Data events by type', 'type', r.dataAccess.byType),
    table('Admin actions by type', 'type', r.adminActions.byType),
    '## Erasures and key rotations',
    '',
    `${r.erasures.events} erasure events; ${r.erasures.entriesWithErasedContent} entries with ${r.erasures.erasedFields} erased fields; ${r.keyRotations.count} key rotations.`,
    '',
    '## Retention',
    '',
    `Policy: ${r.retention.policy === null ? 'none configured (everything is kept)' : `\`${cell(JSON.stringify(r.retention.policy))}\``}; oldest entry ${r.retention.oldestEntry ?? 'none'}; ${r.retention.segments === null ? 'stored in PostgreSQL (no segment files)' : `${r.retention.segments} segments (${r.retention.sealedSegments} sealed, ${r.retention.archivedSegments} archived), ${r.retention.bytesOnDisk} bytes`}.`,
    '',
    `Pruned: ${r.retention.pruned === null ? 'nothing' : `entries before ${r.retention.pruned.firstKept} (${r.retention.pruned.oldest ?? '-'} to ${r.retention.pruned.newest ?? '-'}), behind a signed boundary, last at ${r.retention.pruned.at}`}. Legal holds: ${r.retention.legalHolds.length === 0 ? 'none' : r.retention.legalHolds.map((h) => `${cell(h.id)} (${cell(h.reason)})`).join(', ')}. Actions in the period: ${r.retention.actions.length === 0 ? 'none' : r.retention.actions.map((a) => `${a.key} ${a.count}`).join(', ')}.${r.retention.policyError === null ? '' : ` Policy problem: ${cell(r.retention.policyError)}.`}`,
    '',
    '## Gaps',
    '',
    `${count(r.gaps.count)} periods of more than ${r.gaps.thresholdMinutes} minutes without events${listed(r.gaps.count, r.gaps.periods.length)}; ${r.gaps.droppedEvents} events reported dropped; ${r.gaps.recoveries} crash recoveries.`,
    '',
    ...r.gaps.periods.slice(0, GAPS_SHOWN).map((g) => `- ${g.from} to ${g.to} (${g.minutes} min)`),
    '',
  ];
  if (r.issues.count > 0)
    out.push(`**${r.issues.count} unreadable lines were left out of this report.**`, '');
  return out.join('\n');
}
