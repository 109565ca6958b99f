export * from './connect.js';
export * from './migrations.js';
export * from './pg-keys.js';
export * from './pg-logs.js';
export * from './pg-nodes.js';
export * from './pg-source.js';
export * from './pg-sync.js';
export * from './pg-writer.js';
