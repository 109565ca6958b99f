/**
 * The development console view: one short line per event on stdout, for a developer watching
 * what the application records. Not a trail (nothing is sealed) and never the content payloads.
 */
import type { AuditEventInput } from '../event/index.js';
import { renderVisible } from '../event/index.js';

/** One line describing `event` (identifiers rendered visible: they can be attacker-controlled). */
export function formatPretty(event: AuditEventInput, now = new Date()): string {
  const parts = [`${now.toISOString().slice(11, 23)} audit ${event.type}`];
  if (event.outcome !== undefined) parts.push(event.outcome);
  if (event.actor?.id !== undefined) parts.push(`user=${renderVisible(event.actor.id)}`);
  if (event.conversation !== undefined) {
    const turn = event.conversation.turn === undefined ? '' : `#${event.conversation.turn}`;
    parts.push(`conv=${renderVisible(event.conversation.id)}${turn}`);
  }
  if (event.model?.name !== undefined) parts.push(`model=${renderVisible(event.model.name)}`);
  if (event.resource !== undefined)
    parts.push(`${renderVisible(event.resource.type)}=${renderVisible(event.resource.id)}`);
  if (event.usage?.inputTokens !== undefined || event.usage?.outputTokens !== undefined)
    parts.push(`tokens=${event.usage.inputTokens ?? '?'}/${event.usage.outputTokens ?? '?'}`);
  if (event.latencyMs !== undefined) parts.push(`${Math.round(event.latencyMs)}ms`);
  return parts.join(' ');
}
