export * from './appender.js';
export * from './channel.js';
export * from './open-file.js';
export * from './open-memory.js';
export * from './postgres-target.js';
export * from './trail.js';
