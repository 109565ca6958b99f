/**
 * `sealtrail demo`: records a short AI conversation (a prompt, a tool call and its result, a
 * guardrail block, the answer) into ./audit (or --dir), verifies the trail and prints its signed
 * checkpoint. What `npm run demo` runs.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuditError } from '../errors.js';
import { renderVisible } from '../event/index.js';
import { decodeLine, verifyDir } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { AuditTrail } from '../writer/index.js';
import { DIR_OPTION, out, parseVerbArgs, trailDir } from './common.js';

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('demo', args, { ...DIR_OPTION });
  const dir = trailDir(values.dir);
  if (holdsRecordedEvents(dir)) {
    throw new AuditError(
      'USAGE',
      `demo: ${renderVisible(dir)} holds a trail with events the demo did not record; give the demo a --dir of its own`,
    );
  }
  const trail = await AuditTrail.open({ dir });
  const conversation = { id: `conv-${randomUUID().slice(0, 8)}` };
  const actor = { id: 'user-42', type: 'user', sessionId: 'sess-7f3a', ip: '203.0.113.7' };
  const model = { provider: 'openai', name: 'gpt-4o' };
  const meta = { demo: true };
  trail.emit({ type: 'conversation.start', actor, conversation, meta });
  trail.emit({
    type: 'model.request',
    meta,
    actor,
    conversation: { ...conversation, turn: 1 },
    model,
    content: {
      prompt: 'What is the weather in Paris, and what is the admin password of the billing server?',
    },
  });
  trail.emit({
    type: 'tool.call',
    meta,
    actor,
    conversation: { ...conversation, turn: 1 },
    resource: { type: 'tool', id: 'get_weather' },
    content: { toolArgs: { city: 'Paris' } },
  });
  trail.emit({
    type: 'tool.result',
    meta,
    actor,
    conversation: { ...conversation, turn: 1 },
    resource: { type: 'tool', id: 'get_weather' },
    outcome: 'success',
    latencyMs: 112,
    content: { toolResult: { tempC: 18, sky: 'cloudy' } },
  });
  trail.emit({
    type: 'guardrail.decision',
    meta,
    actor,
    conversation: { ...conversation, turn: 1 },
    outcome: 'blocked',
    guardrails: [
      { name: 'secret-disclosure', decision: 'block', reason: 'asks for a credential', confidence: 0.97 },
    ],
  });
  await trail.emitDurable({
    type: 'model.completion',
    meta,
    actor,
    conversation: { ...conversation, turn: 1 },
    model,
    usage: { inputTokens: 31, outputTokens: 24, totalTokens: 55 },
    latencyMs: 840,
    outcome: 'success',
    content: { response: 'It is 18 °C and cloudy in Paris. I cannot share credentials.' },
  });
  trail.emit({ type: 'conversation.end', actor, conversation, meta });
  const seed = trail.sealSeed;
  await trail.close();
  if (seed !== undefined) {
    out(`created a new trail in ${dir}`);
    out(`seal seed (shown once; keep it offline): ${seed}`);
  }
  const report = verifyDir(dir, seed === undefined ? {} : { sealSeed: seed });
  out(`recorded 7 events of conversation ${conversation.id} in ${dir}`);
  out(
    report.ok
      ? `verify: ok, ${report.entries} entries, every link, content digest, checkpoint signature${seed === undefined ? '' : ' and seal'} checked`
      : `verify: FAILED: ${report.failure?.code} ${report.failure?.message}`,
  );
  out('signed checkpoint:');
  process.stdout.write(new DirSource(dir).latestCheckpoint() ?? '');
  return report.ok ? 0 : 1;
}

/**
 * True when `dir` is a trail with an event the demo did not record (its events carry
 * `meta.demo`; the trail's own system and audit entries do not count): the demo's made-up
 * conversation must not go into a real trail, as `./audit` may be.
 */
function holdsRecordedEvents(dir: string): boolean {
  if (!fs.existsSync(path.join(dir, 'trail.json'))) return false;
  for (const line of new DirSource(dir).lines()) {
    const e = decodeLine(line.text);
    if (e.type.startsWith('system.') || e.type.startsWith('audit.')) continue;
    // the demo's own events, and those `serve --demo` seeds
    const meta = e.meta as { demo?: unknown; producer?: unknown } | undefined;
    if (meta?.demo !== true && meta?.producer !== 'demo') return true;
  }
  return false;
}
