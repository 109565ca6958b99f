/**
 * Protection of content: detectors for personal data and secrets, and the redactor that applies
 * them to event inputs. Other folders import from here.
 */
export {
  BUILTIN_DETECTORS,
  DETECTOR_NAMES,
  type DetectorInfo,
  type DetectorName,
  REDACTION_FAILED,
  REDACTION_FAILED_MARKER,
} from './detector-names.js';
export { createRedactor, DEFAULT_CLASS_POLICY, FIELD_CLASSES, MAX_REDACT_DEPTH } from './redact.js';
export { SensitiveNames, splitName } from './sensitive-names.js';
export type {
  ClassPolicy,
  CustomDetector,
  FieldClass,
  Finding,
  RedactHook,
  RedactHookContext,
  Redactor,
  RedactorOptions,
  RedactResult,
} from './types.js';
