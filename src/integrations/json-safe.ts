/**
 * SDK objects as plain JSON data for content payloads: binary data (buffers, typed arrays, data
 * views) becomes `{type: 'binary', bytes}` (the audit trail records that a file was sent, not the
 * file), URLs and dates become strings, a Map the array of its `[key, value]` pairs, a Set the
 * array of its values, holes in an array `null`, class instances their own enumerable fields (or
 * `toJSON()`), functions and symbols are dropped, cycles and nesting deeper than 32 are cut with a
 * marker, and an object that throws when read (a getter, a `toJSON`) becomes `'[unreadable]'`:
 * copying never throws into the call it observes.
 */

import { inexactNumberPath } from '../event/exact-json.js';

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
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer || obj instanceof SharedArrayBuffer)
    return { type: 'binary', bytes: obj.byteLength };
  if (obj instanceof URL) return obj.href;
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  if (obj instanceof Error) return { name: obj.name, message: obj.message };
  if (depth >= MAX_DEPTH || seen.has(obj)) return '[cut]';
  seen.add(obj);
  try {
    return copyObject(obj, depth, seen);
  } catch {
    return '[unreadable]';
  } finally {
    seen.delete(obj);
  }
}

function copyObject(obj: object, depth: number, seen: Set<object>): unknown {
  const item = (v: unknown): unknown => copy(v, depth + 1, seen) ?? null;
  // Array.from visits holes (map skips them, leaving a hole no JSON encoder of ours accepts).
  if (Array.isArray(obj)) return Array.from(obj, item);
  if (obj instanceof Map) return Array.from(obj, ([k, v]) => [item(k), item(v)]);
  if (obj instanceof Set) return Array.from(obj, item);
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
}

/**
 * Parses a JSON text of tool arguments; the text itself when it is not JSON, or when JSON.parse
 * would round a number in it (an order id of 20 digits): the model's output is evidence, kept exactly.
 */
export function parseArgs(text: unknown): unknown {
  if (typeof text !== 'string') return toJsonSafe(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  return inexactNumberPath(parsed) === undefined ? parsed : text;
}
