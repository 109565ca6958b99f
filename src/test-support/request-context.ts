/**
 * One request context for the integrations' attribution tests: what `runWithRequestContext` is
 * given, and what each entry recorded inside it must carry.
 */
import type { AuditEntry } from '../read/index.js';

export const CONTEXT = {
  userId: 'u-42',
  sessionId: 's-7',
  requestId: 'req-9',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  conversationId: 'conv-3',
  turn: 2,
};

/** Who, where, in which conversation: what the request context gave an entry. */
export const attribution = (e: AuditEntry | undefined) => ({
  actor: e?.actor,
  requestId: e?.requestId,
  traceId: e?.traceId,
  conversation: e?.conversation,
});

/** The {@link attribution} of an entry recorded inside {@link CONTEXT}. */
export const ATTRIBUTED = {
  actor: { id: 'u-42', sessionId: 's-7' },
  requestId: 'req-9',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  conversation: { id: 'conv-3', turn: 2 },
};
