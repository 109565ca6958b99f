/** Query-parameter parsing shared by the collector's routes: errors name the parameter. */
import { AuditError } from '../errors.js';

/**
 * A non-negative integer query parameter.
 * @throws AuditError USAGE naming `name` when `value` is missing or not such an integer.
 */
export function sizeParam(name: string, value: string | undefined): number {
  if (value === undefined || !/^\d{1,15}$/.test(value)) {
    throw new AuditError('USAGE', `${name}: expected a non-negative integer`, { field: name });
  }
  return Number(value);
}
