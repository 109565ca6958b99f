/**
 * Reading a retention policy file: `retention.json` in the trail directory, or a file given with
 * `--policy`. Errors name the file and the field.
 */
import { AuditError } from '../errors.js';
import { readIfExists, type TrailLayout, withFile } from '../store/index.js';
import { parseRetentionPolicy, type RetentionPolicy } from './policy.js';

/**
 * The policy in `file` (default: the trail's `retention.json`), or undefined when the trail has
 * none and no file was given.
 * @throws AuditError CONFIG_INVALID (not JSON, or a field, named with the file), STORE_IO;
 *   NOT_FOUND when a given file does not exist.
 */
export function readRetentionPolicy(layout: TrailLayout, file?: string): RetentionPolicy | undefined {
  const path = file ?? layout.retentionPolicy;
  const text = withFile(path, 'read', () => readIfExists(path));
  if (text === undefined) {
    if (file === undefined) return undefined;
    throw new AuditError('NOT_FOUND', `policy file ${file} does not exist`, { field: 'policy', file });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new AuditError('CONFIG_INVALID', `${path}: not JSON`, { file: path });
  }
  try {
    return parseRetentionPolicy(doc);
  } catch (err) {
    if (err instanceof AuditError)
      throw new AuditError(err.code, `${path}: ${err.message}`, { ...err.detail, file: path });
    throw err;
  }
}
