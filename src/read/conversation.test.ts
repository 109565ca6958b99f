/**
 * Conversation reconstruction with per-entry integrity (verified, not yet checkpointed, failed on
 * a changed payload or a changed record) and timelines in event-time order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSegmentLines, segmentFiles, tempDir, writeSegmentLines } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';
import { buildTimeline, reconstructConversation } from './conversation.js';

let root: string;
let dir: string;
const conversation = { id: 'conv-paris' };
const actor = { id: 'user-42', sessionId: 's1' };

beforeAll(async () => {
  root = tempDir();
  dir = path.join(root, 'trail');
  const trail = await AuditTrail.open({ dir, worker: false, handleExit: false });
  const at = (m: number) => new Date(Date.UTC(2026, 4, 1, 9, m)).toISOString();
  trail.emit({ type: 'conversation.start', ts: at(0), actor, conversation });
  trail.emit({
    type: 'model.request',
    ts: at(1),
    actor,
    conversation: { ...conversation, turn: 1 },
    content: { prompt: 'weather in Paris?' },
  });
  trail.emit({ type: 'x.other', ts: at(1), actor: { id: 'someone-else' } });
  trail.emit({
    type: 'tool.call',
    ts: at(2),
    actor,
    conversation: { ...conversation, turn: 1 },
    resource: { type: 'tool', id: 'get_weather' },
    content: { toolArgs: { city: 'Paris' } },
  });
  trail.emit({
    type: 'guardrail.decision',
    ts: at(3),
    actor,
    conversation,
    outcome: 'blocked',
    guardrails: [{ name: 'secrets', decision: 'block', reason: 'asks for a password' }],
  });
  await trail.checkpoint();
  trail.emit({
    type: 'rag.query',
    ts: at(4),
    actor,
    conversation: { ...conversation, turn: 2 },
    content: { documents: ['d1', 'd2'] },
  });
  trail.emit({
    type: 'model.completion',
    ts: at(5),
    actor,
    conversation: { ...conversation, turn: 2 },
    content: { response: 'Sunny.' },
  });
  // Recorded late: its event time is before everything else.
  trail.emit({ type: 'auth.failure', ts: at(-90), actor: { id: 'mallory' } });
  await trail.close();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function copy(name: string): string {
  const d = path.join(root, name);
  fs.cpSync(dir, d, { recursive: true });
  return d;
}

describe('reconstructConversation', () => {
  it('groups the entries by turn, oldest first, every one verified', async () => {
    const view = await reconstructConversation(dir, 'conv-paris');
    expect(view.entries).toBe(6);
    expect(view.turns.map((t) => [t.turn, t.entries.map((e) => e.entry.type)])).toEqual([
      [null, ['conversation.start']],
      [1, ['model.request', 'tool.call', 'guardrail.decision']],
      [2, ['rag.query', 'model.completion']],
    ]);
    expect(view.integrity).toEqual({ verified: 6, unsigned: 0, failed: 0 });
    expect(view.checkpointSize).toBe(8);
    expect(view.actors).toEqual(['user-42']);
    const tool = view.turns[1]!.entries[1]!;
    expect(tool.entry.content).toEqual({ toolArgs: { city: 'Paris' } });
    expect(tool.integrity).toEqual({
      status: 'verified',
      checkpointSize: 8,
      content: { verified: 1, erased: 0 },
    });
  });
  describe('when entries were recorded out of order', () => {
    it('spans the earliest to the latest event time, and puts a turnless entry in the turn before it', async () => {
      const d = path.join(root, 'out-of-order');
      const trail = await AuditTrail.open({ dir: d, worker: false, handleExit: false });
      const at = (m: number) => new Date(Date.UTC(2026, 4, 1, 9, m)).toISOString();
      const c = (turn: number) => ({ id: 'conv-late', turn });
      trail.emit({ type: 'model.request', ts: at(10), actor, conversation: c(2) });
      // recorded late: the first turn happened before the second
      trail.emit({ type: 'model.request', ts: at(1), actor, conversation: c(1) });
      trail.emit({ type: 'model.completion', ts: at(2), actor, conversation: c(1) });
      trail.emit({ type: 'model.completion', ts: at(12), actor, conversation: c(2) });
      trail.emit({ type: 'tool.call', ts: at(13), actor, conversation: { id: 'conv-late' } });
      await trail.close();
      const view = await reconstructConversation(d, 'conv-late');
      expect(view.firstTs).toBe(at(1));
      expect(view.lastTs).toBe(at(13));
      expect(view.turns.map((t) => [t.turn, t.entries.map((e) => e.entry.type)])).toEqual([
        [1, ['model.request', 'model.completion']],
        [2, ['model.request', 'model.completion', 'tool.call']],
      ]);
    });
  });
  it('marks entries after the latest checkpoint as not yet checkpointed', async () => {
    const d = copy('older-checkpoint');
    const stored = fs
      .readFileSync(path.join(d, 'checkpoints.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { size: number; note: string });
    const first = stored.find((c) => c.size === 5)!;
    fs.writeFileSync(path.join(d, 'checkpoint'), first.note);
    const view = await reconstructConversation(d, 'conv-paris');
    expect(view.integrity).toEqual({ verified: 4, unsigned: 2, failed: 0 });
    expect(view.turns[2]!.entries.map((e) => e.integrity.status)).toEqual(['unsigned', 'unsigned']);
  });
  it('fails the entry whose payload was changed, and only that one', async () => {
    const d = copy('payload-changed');
    const file = segmentFiles(d)[0]!;
    writeSegmentLines(
      file,
      readSegmentLines(file).map((l) => l.replace('weather in Paris?', 'weather in Rome?')),
    );
    const view = await reconstructConversation(d, 'conv-paris');
    expect(view.integrity).toEqual({ verified: 5, unsigned: 0, failed: 1 });
    expect(view.turns[1]!.entries[0]!.integrity).toMatchObject({
      status: 'failed',
      reason: 'content prompt: does not match its commitment',
    });
  });
  it('fails the entry whose record was changed (its inclusion proof no longer holds)', async () => {
    const d = copy('record-changed');
    const file = segmentFiles(d)[0]!;
    const lines = readSegmentLines(file);
    lines[3] = lines[3]!.replace('get_weather', 'get_secrets');
    writeSegmentLines(file, lines);
    const view = await reconstructConversation(d, 'conv-paris');
    expect(view.integrity.failed).toBe(1);
    expect(view.turns[1]!.entries[1]!.integrity.status).toBe('failed');
    expect(view.turns[1]!.entries[1]!.integrity.reason).toMatch(/inclusion proof/);
  });
  it('shows erased payloads as erased, still verified', async () => {
    const d = copy('erased');
    const file = segmentFiles(d)[0]!;
    const lines = readSegmentLines(file);
    const [committed] = lines[1]!.split('\t');
    lines[1] = `${committed}\t{"prompt":{"erased":{"at":"2026-06-01T00:00:00.000Z","by":99}}}`;
    writeSegmentLines(file, lines);
    const view = await reconstructConversation(d, 'conv-paris');
    const req = view.turns[1]!.entries[0]!;
    expect(req.entry.erased).toEqual(['prompt']);
    expect(req.integrity).toMatchObject({ status: 'verified', content: { verified: 0, erased: 1 } });
  });
  it('finds nothing for an unknown conversation', async () => {
    const view = await reconstructConversation(dir, 'conv-none');
    expect(view).toMatchObject({ entries: 0, turns: [], firstTs: null });
  });
});

describe('buildTimeline', () => {
  it('orders a window by event time, including entries recorded late', async () => {
    const t = await buildTimeline(dir, { from: '2026-05-01T07:00:00Z', to: '2026-05-01T09:03:00Z' });
    expect(t.entries.map((e) => e.type)).toEqual([
      'auth.failure',
      'conversation.start',
      'model.request',
      'x.other',
      'tool.call',
    ]);
    expect(t.truncated).toBe(false);
  });
  it('narrows to an actor and says when it stopped at the limit', async () => {
    const t = await buildTimeline(dir, { from: '2026-05-01', actor: 'user-42' }, { limit: 3 });
    expect(t.entries).toHaveLength(3);
    expect(t.truncated).toBe(true);
    expect(t.entries.every((e) => (e.actor as { id: string }).id === 'user-42')).toBe(true);
  });
});
