/**
 * `sealtrail conversation ID [--json]`: the conversation's turns in order with prompts,
 * responses, tool calls and results, retrievals and guardrail decisions, and beside each entry
 * its integrity status (inclusion in the latest signed checkpoint, content commitments).
 * `sealtrail timeline --from T [--to T] [--actor A] [filters] [--json]`: every entry of a window
 * in event-time order, with the quiet periods marked, for incident review. Both are recorded in
 * the trail as `audit.read`. Exit 1 when an entry failed its check or a line was unreadable.
 */
import { NoteVerifier } from '../chain/index.js';
import { AuditError } from '../errors.js';
import { renderVisible } from '../event/index.js';
import {
  type AuditEntry,
  buildTimeline,
  type ConversationEntry,
  type ConversationView,
  ERASED_MARKER,
  reconstructConversation,
} from '../read/index.js';
import { DIR_OPTION, intOption, out, outJson, parseVerbArgs } from './common.js';
import { POSTGRES_OPTIONS, readTarget } from './postgres-options.js';
import {
  AS_OPTION,
  DECRYPT_OPTION,
  entryDetails,
  FILTER_OPTIONS,
  filterFromOptions,
  issueLine,
  readReveal,
  withOptionNames,
} from './read-options.js';
import { auditRead } from './record-read.js';

function text(v: unknown, max = 400): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

/** What a person wants to see of an entry in a conversation. */
function describeEntry(e: AuditEntry): string[] {
  const lines: string[] = [];
  const content = e.content ?? {};
  for (const name of e.erased ?? []) lines.push(`${name}: ${ERASED_MARKER}`);
  const resource = e.resource as { type?: string; id?: string } | undefined;
  if (e.type === 'tool.call' || e.type === 'tool.result') {
    if (resource?.id !== undefined) lines.push(`tool: ${resource.id}`);
  }
  for (const [name, v] of Object.entries(content)) lines.push(`${name}: ${text(v)}`);
  for (const g of (e.guardrails as Array<Record<string, unknown>> | undefined) ?? []) {
    const conf = typeof g.confidence === 'number' ? ` ${g.confidence}` : '';
    lines.push(
      `guardrail ${String(g.name)}: ${String(g.decision)}${conf}${g.reason === undefined ? '' : ` (${String(g.reason)})`}`,
    );
  }
  const usage = e.usage as Record<string, number> | undefined;
  const model = e.model as { provider?: string; name?: string } | undefined;
  const facts = [
    model?.name === undefined
      ? ''
      : `model ${model.provider === undefined ? '' : `${model.provider}/`}${model.name}`,
    usage === undefined ? '' : `tokens ${usage.inputTokens ?? '?'} in / ${usage.outputTokens ?? '?'} out`,
    typeof e.latencyMs === 'number' ? `${e.latencyMs} ms` : '',
    e.outcome === undefined ? '' : `outcome ${String(e.outcome)}`,
  ].filter((s) => s !== '');
  if (facts.length > 0) lines.push(facts.join(', '));
  return lines;
}

function integrityLabel(c: ConversationEntry): string {
  const i = c.integrity;
  const content = i.content.erased > 0 ? `, ${i.content.erased} erased` : '';
  switch (i.status) {
    case 'verified':
      return `[verified: in checkpoint ${i.checkpointSize}, content ok${content}]`;
    case 'unsigned':
      return `[not yet in a signed checkpoint${i.reason === undefined ? '' : `: ${i.reason}`}; content ok${content}]`;
    case 'failed':
      return `[FAILED: ${i.reason ?? 'unknown'}]`;
  }
}

/**
 * On a pruned trail, that entries before the boundary are gone and may have belonged to the
 * conversation: not that they did, which cannot be known from what is kept.
 */
function prunedLines(view: ConversationView): string[] {
  const p = view.pruned;
  if (p === null) return [];
  const span = p.oldestTs === null ? '' : `, written ${p.oldestTs} to ${p.newestTs ?? '-'},`;
  const first = view.turns[0];
  const shown =
    first === undefined
      ? ''
      : first.turn === null
        ? 'its first entries shown have no turn number; '
        : first.turn > 0
          ? `its first turn shown is turn ${first.turn}; `
          : '';
  return [
    `pruned: the trail's entries before seq ${p.beforeSeq}${span} are no longer stored; ${shown}earlier entries of this conversation may have been among them`,
  ];
}

export async function runConversation(args: string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'conversation',
    args,
    {
      ...DIR_OPTION,
      ...POSTGRES_OPTIONS,
      ...AS_OPTION,
      ...DECRYPT_OPTION,
      key: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length !== 1) throw new AuditError('USAGE', 'conversation: give one conversation id');
  // Checked before anything is read: a conversation with no entries would never use it.
  if (values.key !== undefined) NoteVerifier.fromVkey(values.key);
  const target = await readTarget('conversation', values);
  try {
    const dir = target.source;
    const reveal = await readReveal(target, values.decrypt);
    const view = await reconstructConversation(dir, positionals[0]!, {
      ...(values.key === undefined ? {} : { verifierKey: values.key }),
      ...(reveal === undefined ? {} : { reveal }),
    });
    for (const issue of view.issues) process.stderr.write(`${issueLine(issue)}\n`);
    if (values.json === true) outJson(view);
    else if (view.entries === 0)
      out([`no entries for conversation ${view.id}`, ...prunedLines(view)].map(renderVisible).join('\n'));
    else {
      const lines: string[] = [];
      lines.push(
        `conversation ${view.id}: ${view.entries} entries, ${view.turns.length} turns, ${view.firstTs} to ${view.lastTs}`,
      );
      lines.push(`actors: ${view.actors.join(', ') || '-'}; models: ${view.models.join(', ') || '-'}`);
      lines.push(
        `integrity: ${view.integrity.verified} verified against signed checkpoint ${view.checkpointSize ?? '(none)'}, ${view.integrity.unsigned} not yet checkpointed, ${view.integrity.failed} failed`,
      );
      lines.push(...prunedLines(view));
      for (const t of view.turns) {
        lines.push('', t.turn === null ? 'before the first turn' : `turn ${t.turn}`);
        for (const c of t.entries) {
          const actor = (c.entry.actor as { id?: string } | undefined)?.id ?? '-';
          lines.push(`  #${c.entry.seq}  ${c.entry.ts}  ${c.entry.type}  ${actor}  ${integrityLabel(c)}`);
          for (const d of describeEntry(c.entry)) lines.push(`      ${d}`);
        }
      }
      out(lines.map(renderVisible).join('\n'));
    }
    await auditRead(target, {
      verb: 'conversation',
      as: values.as,
      filter: { conversation: [view.id] },
      count: view.entries,
      issues: view.issues.length,
      ...(reveal === undefined ? {} : { extra: { decrypted: true } }),
    });
    return view.integrity.failed > 0 || view.issues.length > 0 ? 1 : 0;
  } finally {
    target.close();
  }
}

function duration(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  return h > 0 ? `${h}h ${m}m` : `${m}m`;
}

export async function runTimeline(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('timeline', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    ...FILTER_OPTIONS,
    ...AS_OPTION,
    limit: { type: 'string' },
    gap: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.from === undefined && values.since === undefined) {
    throw new AuditError('USAGE', 'timeline: --from (or --since) is required');
  }
  const target = await readTarget('timeline', values);
  try {
    const dir = target.source;
    const limit = intOption('limit', values.limit);
    const gapMs = (intOption('gap', values.gap) ?? 60) * 60_000;
    const filter = filterFromOptions(values);
    const timeline = await withOptionNames(() =>
      buildTimeline(dir, filter, limit === undefined ? {} : { limit }),
    );
    for (const issue of timeline.issues) process.stderr.write(`${issueLine(issue)}\n`);
    if (values.json === true) outJson(timeline);
    else {
      const lines: string[] = [];
      let prev: number | undefined;
      for (const e of timeline.entries) {
        const t = Date.parse(e.ts);
        if (prev !== undefined && t - prev > gapMs) lines.push(`  … ${duration(t - prev)} without events …`);
        prev = t;
        const actor = (e.actor as { id?: string } | undefined)?.id ?? '-';
        lines.push(
          `${e.ts}  ${e.severity.padEnd(8)}  ${actor.padEnd(14)}  ${e.type.padEnd(22)}  ${entryDetails(e)}`,
        );
      }
      if (timeline.truncated)
        lines.push(`(stopped at ${timeline.entries.length} entries: narrow the window or raise --limit)`);
      if (lines.length === 0) lines.push('no entries in this window');
      out(lines.map(renderVisible).join('\n'));
    }
    await auditRead(target, {
      verb: 'timeline',
      as: values.as,
      filter: timeline.filter,
      count: timeline.entries.length,
      issues: timeline.issues.length,
    });
    return timeline.issues.length > 0 ? 1 : 0;
  } finally {
    target.close();
  }
}
