/** The benchmark's records: ~1 KB AI events with a prompt and a response, the same for every peer. */
import type { AuditEventInput } from '../src/event/index.js';

export function aiEvent(i: number): AuditEventInput {
  return {
    type: 'model.completion',
    actor: { id: `user-${i % 1000}`, type: 'user', sessionId: `sess-${i % 97}`, ip: '203.0.113.7' },
    conversation: { id: `conv-${i % 500}`, turn: i % 20 },
    model: { provider: 'openai', name: 'gpt-4o' },
    usage: { inputTokens: 312, outputTokens: 128, totalTokens: 440 },
    latencyMs: 842,
    outcome: 'success',
    content: {
      prompt:
        `Summarize the quarterly report for customer ${i} and list the three main risks with mitigations. `.repeat(
          4,
        ),
      response:
        'Revenue grew 12% year over year; the main risks are supply chain, currency and regulation. '.repeat(
          4,
        ),
    },
    meta: { app: 'assistant', region: 'eu-west-1' },
  };
}
