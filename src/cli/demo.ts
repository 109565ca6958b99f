/**
 * `sealtrail demo`: records a short AI conversation (a prompt, a tool call and its result, a
 * guardrail block, the answer) into ./audit (or --dir), verifies the trail and prints its signed
 * checkpoint. What `npm run demo` runs.
 */
import { randomUUID } from 'node:crypto';
import { verifyDir } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { AuditTrail } from '../writer/index.js';
import { DIR_OPTION, out, parseVerbArgs, trailDir } from './common.js';

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('demo', args, { ...DIR_OPTION });
  const dir = trailDir(values.dir);
  const trail = await AuditTrail.open({ dir });
  const conversation = { id: `conv-${randomUUID().slice(0, 8)}` };
  const actor = { id: 'user-42', type: 'user', sessionId: 'sess-7f3a', ip: '203.0.113.7' };
  const model = { provider: 'openai', name: 'gpt-4o' };
  trail.emit({ type: 'conversation.start', actor, conversation });
  trail.emit({
    type: 'model.request',
    actor,
    conversation: { ...conversation, turn: 1 },
    model,
    content: {
      prompt: 'What is the weather in Paris, and what is the admin password of the billing server?',
    },
  });
  trail.emit({
    type: 'tool.call',
    actor,
    conversation: { ...conversation, turn: 1 },
    resource: { type: 'tool', id: 'get_weather' },
    content: { toolArgs: { city: 'Paris' } },
  });
  trail.emit({
    type: 'tool.result',
    actor,
    conversation: { ...conversation, turn: 1 },
    resource: { type: 'tool', id: 'get_weather' },
    outcome: 'success',
    latencyMs: 112,
    content: { toolResult: { tempC: 18, sky: 'cloudy' } },
  });
  trail.emit({
    type: 'guardrail.decision',
    actor,
    conversation: { ...conversation, turn: 1 },
    outcome: 'blocked',
    guardrails: [
      { name: 'secret-disclosure', decision: 'block', reason: 'asks for a credential', confidence: 0.97 },
    ],
  });
  await trail.emitDurable({
    type: 'model.completion',
    actor,
    conversation: { ...conversation, turn: 1 },
    model,
    usage: { inputTokens: 31, outputTokens: 24, totalTokens: 55 },
    latencyMs: 840,
    outcome: 'success',
    content: { response: 'It is 18 °C and cloudy in Paris. I cannot share credentials.' },
  });
  trail.emit({ type: 'conversation.end', actor, conversation });
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
