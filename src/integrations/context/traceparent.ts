/**
 * W3C Trace Context (`traceparent`, https://www.w3.org/TR/trace-context/#traceparent-header):
 * `version-traceid-parentid-flags`. Only the trace id is kept. The header is attacker-controlled:
 * anything malformed is ignored rather than recorded as a trace id.
 */

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ALL_ZERO_TRACE = '0'.repeat(32);
const ALL_ZERO_PARENT = '0'.repeat(16);

/** The trace id of a `traceparent` header, or undefined when it is missing or invalid. */
export function parseTraceparent(header: string | readonly string[] | undefined): string | undefined {
  if (header === undefined || typeof header !== 'string') return undefined;
  const m = TRACEPARENT_RE.exec(header.trim());
  if (m === null) return undefined;
  const [, version, traceId, parentId] = m;
  // Version ff is invalid; version 00 has no trailing fields (W3C §3.2.4).
  if (version === 'ff' || (version === '00' && header.trim().length !== 55)) return undefined;
  if (traceId === ALL_ZERO_TRACE || parentId === ALL_ZERO_PARENT) return undefined;
  return traceId;
}
