/** Query-parameter parsing shared by the collector's routes: errors name the parameter. */
import { AuditError } from '../errors.js';

/**
 * An integer query parameter of at least `min` (default 0).
 * @throws AuditError USAGE naming `name` when `value` is missing or not such an integer.
 */
export function sizeParam(name: string, value: string | undefined, min = 0): number {
  const n = value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : -1;
  if (n < min) {
    const what = min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`;
    throw new AuditError('USAGE', `${name}: expected ${what}`, { field: name });
  }
  return n;
}
