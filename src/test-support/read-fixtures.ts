/**
 * A small trail with known events for the reading tests: 48 hours of hourly events from
 * 2026-03-01T00:00Z, in several sealed segments, of every kind a query can ask for.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AuditEventInput } from '../event/index.js';
import { AuditTrail } from '../writer/index.js';

export const T0 = Date.UTC(2026, 2, 1);
export const HOUR = 3_600_000;
export const FIXTURE_ENTRIES = 48;

/** The event recorded at hour `h`. */
export function fixtureEvent(h: number): AuditEventInput {
  const ts = new Date(T0 + h * HOUR).toISOString();
  const actor = {
    id: `user-${h % 4}`,
    type: h % 8 === 7 ? 'service' : 'user',
    sessionId: `sess-${h % 3}`,
    ip: `203.0.113.${h % 5}`,
  };
  const conversation = { id: `conv-${h % 6}`, turn: Math.floor(h / 6) };
  switch (h % 6) {
    case 0:
      return {
        type: 'model.request',
        ts,
        actor,
        conversation,
        requestId: `req-${h}`,
        traceId: `trace-${h % 4}`,
        model: { provider: 'openai', name: 'gpt-4o' },
        content: { prompt: `Question number ${h} about the Zebra project` },
      };
    case 1:
      return {
        type: 'model.completion',
        ts,
        actor,
        conversation,
        requestId: `req-${h - 1}`,
        model: { provider: 'anthropic', name: 'claude' },
        usage: { inputTokens: 10, outputTokens: 20, totalTokens: 30 },
        outcome: 'success',
        content: { response: `Answer ${h}` },
      };
    case 2:
      return {
        type: 'tool.call',
        ts,
        actor,
        conversation,
        resource: { type: 'tool', id: 'search' },
        content: { toolArgs: { q: `query ${h}` } },
      };
    case 3:
      return {
        type: 'guardrail.decision',
        ts,
        actor,
        conversation,
        outcome: h % 12 === 3 ? 'blocked' : 'allowed',
        guardrails: [
          { name: 'pii', decision: h % 12 === 3 ? 'block' : 'allow', reason: 'contains an email' },
        ],
      };
    case 4:
      return {
        type: 'auth.failure',
        ts,
        actor: { ...actor, id: 'mallory', ip: '198.51.100.9' },
        outcome: 'failure',
        meta: { reason: 'bad password' },
      };
    default:
      return {
        type: 'data.access',
        ts,
        actor,
        subject: `subject-${h % 7}`,
        resource: { type: 'record', id: `rec-${h}` },
        action: 'read',
        outcome: 'success',
      };
  }
}

/** Writes the fixture trail into `dir` (small segments, so that several are sealed). */
export async function writeFixtureTrail(
  dir: string,
): Promise<{ sealSeed: string | undefined; ids: string[] }> {
  const trail = await AuditTrail.open({ dir, worker: false, maxSegmentBytes: 2048, handleExit: false });
  const ids: string[] = [];
  for (let h = 0; h < FIXTURE_ENTRIES; h++) {
    ids.push(trail.emit(fixtureEvent(h)));
    await trail.flush();
  }
  const sealSeed = trail.sealSeed;
  await trail.close();
  return { sealSeed, ids };
}

/** A naive RFC 4180 reader: the reference the writer is checked against. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) throw new Error('csv does not end with CRLF');
  return rows;
}

const atHour = (h: number) => new Date(T0 + h * HOUR).toISOString();

/** Writes the fixture and a few admin, compliance and system events after a 13-hour quiet period. */
export async function writeReportTrail(d: string): Promise<void> {
  await writeFixtureTrail(d);
  const trail = await AuditTrail.open({ dir: d, worker: false, handleExit: false });
  trail.emit({ type: 'admin.key_rotated', ts: atHour(60), actor: { id: 'admin-1' } });
  trail.emit({ type: 'admin.user_created', ts: atHour(60), actor: { id: 'admin-1' } });
  trail.emit({ type: 'compliance.gdpr_erasure', ts: atHour(61), actor: { id: 'dpo' }, subject: 'subject-3' });
  trail.recordOwn({ type: 'system.overflow', ts: atHour(61), meta: { lost: 5 } });
  trail.emit({
    type: 'auth.failure',
    ts: atHour(62),
    actor: { id: '<img src=x onerror=alert(1)>\u202e|', ip: '192.0.2.1' },
  });
  await trail.close();
}

/** A copy of the trail in `base`, in a fresh directory under `root`, to damage one way. */
export function copyTrail(root: string, base: string): string {
  const d = fs.mkdtempSync(path.join(root, 'copy-'));
  fs.cpSync(base, d, { recursive: true });
  return d;
}
