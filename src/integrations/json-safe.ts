/**
 * SDK objects as plain JSON data for content payloads: binary parts become `{type: 'binary',
 * bytes}` (the audit trail records that a file was sent, not the file), URLs and dates become
 * strings, class instances their own enumerable fields (or `toJSON()`), functions and symbols are
 * dropped, cycles and nesting deeper than 32 are cut with a marker.
 */

const MAX_DEPTH = 32;

/** A JSON-safe copy of `value`. */
export function toJsonSafe(value: unknown): unknown {
  return copy(value, 0, new Set());
}

function copy(value: unknown, depth: number, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const obj = value as object;
  if (obj instanceof Uint8Array || obj instanceof ArrayBuffer)
    return { type: 'binary', bytes: obj.byteLength };
  if (obj instanceof URL) return obj.href;
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  if (obj instanceof Error) return { name: obj.name, message: obj.message };
  if (depth >= MAX_DEPTH || seen.has(obj)) return '[cut]';
  seen.add(obj);
  try {
    if (Array.isArray(obj)) return obj.map((v) => copy(v, depth + 1, seen) ?? null);
    const proto = Object.getPrototypeOf(obj);
    if (
      proto !== Object.prototype &&
      proto !== null &&
      typeof (obj as { toJSON?: unknown }).toJSON === 'function'
    )
      return copy((obj as { toJSON(): unknown }).toJSON(), depth + 1, seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const c = copy(v, depth + 1, seen);
      if (c !== undefined) out[k] = c;
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}

/** Parses a JSON text of tool arguments; the text itself when it is not JSON (the model's output is evidence). */
export function parseArgs(text: unknown): unknown {
  if (typeof text !== 'string') return toJsonSafe(text);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
