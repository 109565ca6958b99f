/**
 * The one error family of Sealtrail. Callers switch on `code`; one table maps every code to
 * the CLI exit code and the HTTP status, so the CLI and the collector answer alike.
 * Messages are lower-case, name the field or file, and never carry a key or a content payload.
 */

/** Every error code Sealtrail raises, with its CLI exit code and HTTP status. */
export const ERROR_CODES = {
  // input and usage (exit 2, HTTP 4xx)
  EVENT_INVALID: { exit: 2, http: 400 },
  USAGE: { exit: 2, http: 400 },
  CONFIG_INVALID: { exit: 2, http: 400 },
  NOT_FOUND: { exit: 2, http: 404 },
  // writer state (exit 2, HTTP 5xx)
  BUFFER_FULL: { exit: 2, http: 503 },
  TRAIL_CLOSED: { exit: 2, http: 503 },
  TRAIL_LOCKED: { exit: 2, http: 409 },
  TRAIL_EXISTS: { exit: 2, http: 409 },
  TRAIL_NOT_FOUND: { exit: 2, http: 404 },
  STORE_IO: { exit: 2, http: 500 },
  STORE_UNAVAILABLE: { exit: 2, http: 503 },
  KEY_NOT_FOUND: { exit: 2, http: 500 },
  KEY_INVALID: { exit: 2, http: 400 },
  ALERT_DELIVERY_FAILED: { exit: 2, http: 502 },
  KEY_DESTROYED: { exit: 2, http: 410 },
  KEY_PROVIDER_ERROR: { exit: 2, http: 502 },
  // integrity failures (exit 1, HTTP 409)
  CHAIN_LINK_MISMATCH: { exit: 1, http: 409 },
  CHAIN_SEQ_GAP: { exit: 1, http: 409 },
  ENTRY_MALFORMED: { exit: 1, http: 409 },
  CONTENT_COMMITMENT_MISMATCH: { exit: 1, http: 409 },
  ROOT_MISMATCH: { exit: 1, http: 409 },
  LEAF_HASH_MISMATCH: { exit: 1, http: 409 },
  TREE_SIZE_MISMATCH: { exit: 1, http: 409 },
  CHECKPOINT_MALFORMED: { exit: 1, http: 409 },
  CHECKPOINT_SIGNATURE_INVALID: { exit: 1, http: 409 },
  CHECKPOINT_MISSING: { exit: 1, http: 409 },
  INCLUSION_PROOF_INVALID: { exit: 1, http: 409 },
  CONSISTENCY_PROOF_INVALID: { exit: 1, http: 409 },
  SEAL_INVALID: { exit: 1, http: 409 },
  SEAL_MISSING: { exit: 1, http: 409 },
  SEGMENT_CHECKSUM_MISMATCH: { exit: 1, http: 409 },
  BOUNDARY_INVALID: { exit: 1, http: 409 },
  DECRYPT_FAILED: { exit: 1, http: 409 },
  ARCHIVE_CONFLICT: { exit: 1, http: 409 },
  WITNESS_CONFLICT: { exit: 1, http: 409 },
} as const satisfies Record<string, { exit: 1 | 2; http: number }>;

/** A string-literal union of every error code. */
export type AuditErrorCode = keyof typeof ERROR_CODES;

/** The error every Sealtrail API throws or rejects with. */
export class AuditError extends Error {
  override readonly name = 'AuditError';
  readonly code: AuditErrorCode;
  /** Structured, non-secret detail (seq, file, expected vs computed hash, ...). */
  readonly detail: Readonly<Record<string, unknown>>;

  constructor(code: AuditErrorCode, message: string, detail: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.detail = detail;
  }

  /** The CLI exit code for this error: 1 for integrity failures, 2 for usage, input and I/O. */
  get exitCode(): 1 | 2 {
    return ERROR_CODES[this.code].exit;
  }

  /** The HTTP status the collector answers with. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }
}

/** True when `err` is an AuditError, optionally with the given code. */
export function isAuditError(err: unknown, code?: AuditErrorCode): err is AuditError {
  return err instanceof AuditError && (code === undefined || err.code === code);
}
