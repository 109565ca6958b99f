export * from './collector.js';
export * from './demo-seed.js';
export * from './ingest.js';
export * from './metrics.js';
export * from './tokens.js';
