/** Zero-config setup: the `audit` singleton, environment detection and configuration. */
export {
  Audit,
  type AuditState,
  type AuditStatus,
  audit,
  type ModelCallHandle,
} from './audit.js';
export {
  type DetectedEnvironment,
  detectEnvironment,
  type Environment,
  type EnvironmentProbe,
} from './environment.js';
export {
  type AdminAction,
  type AdminInput,
  type AuthEvent,
  type AuthInput,
  type DataAccessInput,
  type DataAction,
  describeError,
  type EventFields,
  type GuardrailInput,
  type ModelCallInput,
  type ModelRequestInput,
  type ModelResponseInput,
  type ToolCallInput,
} from './helpers.js';
export {
  type Destination,
  type DestinationInput,
  type EnableOptions,
  type FailurePolicy,
  parseDestination,
  type ResolvedConfig,
  resolveConfig,
} from './resolve.js';
