export * from './entry.js';
export * from './export.js';
export * from './export-format.js';
export * from './prove.js';
export * from './query.js';
export * from './query-filter.js';
export type { ReadIssue, ScanStats } from './query-scan.js';
export * from './query-time.js';
export * from './verify-dir.js';
