export * from './anomaly.js';
export * from './anomaly-alerts.js';
export * from './conversation.js';
export * from './entry.js';
export * from './entry-integrity.js';
export * from './export.js';
export * from './export-format.js';
export * from './prove.js';
export * from './query.js';
export * from './query-filter.js';
export {
  findLinesHolding,
  type RawLine,
  readLinesReverse,
  readRawLines,
  readRawLinesReverse,
} from './query-lines.js';
export type { ReadIssue, ScanStats } from './query-scan.js';
export * from './query-time.js';
export * from './report.js';
export * from './report-html.js';
export * from './report-md.js';
export * from './status.js';
export * from './verify-dir.js';
