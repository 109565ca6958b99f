/**
 * `sealtrail retention apply [--dry-run] [--policy FILE]` and `sealtrail retention hold
 * add|remove|list`: applies the retention policy (docs/retention.md) and manages legal holds.
 * Applying and changing holds take the writer lock (each is recorded in the trail): with a running
 * writer, call `trail.applyRetention()` / `trail.addLegalHold()` in that process. A dry run and
 * `hold list` only read, and run beside a writer.
 */
import { AuditError } from '../errors.js';
import { renderVisible } from '../event/index.js';
import {
  type LegalHold,
  planRetentionRun,
  type RetentionResult,
  readHolds,
  readRetentionPolicy,
} from '../retention/index.js';
import { readTrailMeta, trailLayout } from '../store/index.js';
import { AuditTrail } from '../writer/index.js';
import { DIR_OPTION, jsonText, out, parseVerbArgs, trailDir } from './common.js';

const USAGE =
  'retention: expected apply [--dry-run] [--policy FILE] | hold add --id ID --reason R [scope] | hold remove --id ID | hold list';

async function withWriter<T>(dir: string, fn: (trail: AuditTrail) => Promise<T>): Promise<T> {
  const trail = await AuditTrail.open({ dir, create: false, handleExit: false });
  try {
    return await fn(trail);
  } finally {
    await trail.close();
  }
}

function describeResult(r: RetentionResult): string {
  const verb = r.dryRun ? 'would' : 'did';
  const b = r.blockedBy;
  const stop =
    b === null
      ? ''
      : b.reason === 'newest'
        ? `; pruning stops at seq ${b.seq} (the newest segment is never pruned)`
        : b.reason === 'hold'
          ? `; pruning stops at seq ${b.seq}: legal hold ${b.hold} covers it`
          : `; pruning stops at seq ${b.seq}: ${b.type} (${b.category}) is kept ${b.until === undefined ? 'forever' : `until ${b.until}`}`;
  const expired = r.dryRun
    ? `${r.expire.entries} entries`
    : `${r.expired.fields} fields in ${r.expired.entries} entries`;
  const archived = r.dryRun ? r.archive.segments.length : r.archived.segments;
  return [
    `retention ${r.dryRun ? 'plan' : 'applied'} at ${r.at}:`,
    `  prune: ${verb} remove ${r.prune.segments.length} segments (${r.prune.entries} entries)${r.prune.firstKept === null ? '' : `; the trail then starts at seq ${r.prune.firstKept}`}${stop}`,
    `  content expiry: ${verb} erase the payloads of ${expired} (commitments stay)`,
    `  archive: ${verb} gzip ${archived} sealed segments`,
    `  legal holds: ${r.holds}; entries kept only because of them: ${r.held}`,
    r.dryRun ? '  nothing was changed (dry run)' : '  each action is recorded in the trail',
  ].join('\n');
}

async function runApply(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('retention apply', args, {
    ...DIR_OPTION,
    policy: { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const dir = trailDir(values.dir);
  const layout = trailLayout(dir);
  readTrailMeta(layout); // TRAIL_NOT_FOUND before anything else
  const policy = readRetentionPolicy(layout, values.policy);
  if (policy === undefined) {
    throw new AuditError(
      'CONFIG_INVALID',
      `retention: no policy: write ${layout.retentionPolicy} or pass --policy FILE`,
      { field: 'policy' },
    );
  }
  const result =
    values['dry-run'] === true
      ? planRetentionRun(layout, policy, Date.now())
      : await withWriter(dir, (trail) => trail.applyRetention(policy));
  out(values.json === true ? jsonText(result) : describeResult(result));
  return 0;
}

/** One hold as tab-separated cells, each rendered visibly (the tabs between them stay tabs). */
function holdLine(h: LegalHold): string {
  const cells = [
    h.id,
    h.createdAt,
    h.scope === undefined ? 'whole trail' : JSON.stringify(h.scope),
    h.reason,
  ];
  if (h.by !== undefined) cells.push(`by ${h.by}`);
  return cells.map(renderVisible).join('\t');
}

async function runHold(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'add' && action !== 'remove' && action !== 'list') throw new AuditError('USAGE', USAGE);
  const { values } = parseVerbArgs(`retention hold ${action}`, rest, {
    ...DIR_OPTION,
    id: { type: 'string' },
    reason: { type: 'string' },
    by: { type: 'string' },
    actor: { type: 'string' },
    subject: { type: 'string' },
    category: { type: 'string' },
    type: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
  });
  const dir = trailDir(values.dir);
  const layout = trailLayout(dir);
  readTrailMeta(layout);
  if (action === 'list') {
    const holds = readHolds(layout);
    out(
      values.json === true
        ? jsonText(holds)
        : holds.length === 0
          ? 'no legal holds'
          : holds.map(holdLine).join('\n'),
    );
    return 0;
  }
  if (values.id === undefined || values.id === '')
    throw new AuditError('USAGE', `retention hold ${action}: --id is required`);
  if (action === 'add') {
    if (values.reason === undefined)
      throw new AuditError('USAGE', 'retention hold add: --reason is required');
    const scope: NonNullable<LegalHold['scope']> = {};
    for (const key of ['actor', 'subject', 'category', 'type', 'from', 'to'] as const) {
      const v = values[key];
      if (v !== undefined) scope[key] = v;
    }
    const hold: Parameters<AuditTrail['addLegalHold']>[0] = { id: values.id, reason: values.reason };
    if (Object.keys(scope).length > 0) hold.scope = scope;
    if (values.by !== undefined) hold.by = values.by;
    const placed = await withWriter(dir, (trail) => trail.addLegalHold(hold));
    out(
      values.json === true
        ? jsonText(placed)
        : renderVisible(`legal hold ${placed.id} placed; recorded in the trail`),
    );
    return 0;
  }
  const options: { by?: string; reason?: string } = {};
  if (values.by !== undefined) options.by = values.by;
  if (values.reason !== undefined) options.reason = values.reason;
  const removed = await withWriter(dir, (trail) => trail.removeLegalHold(values.id!, options));
  out(
    values.json === true
      ? jsonText(removed)
      : renderVisible(`legal hold ${removed.id} removed; recorded in the trail`),
  );
  return 0;
}

/** `sealtrail retention ...` */
export async function runRetention(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'apply') return runApply(rest);
  if (sub === 'hold') return runHold(rest);
  throw new AuditError('USAGE', USAGE);
}
