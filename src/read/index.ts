export * from './entry.js';
export * from './prove.js';
export * from './verify-dir.js';
