export * from './apply.js';
export * from './erase.js';
export * from './holds.js';
export * from './plan.js';
export * from './policy.js';
export * from './policy-file.js';
export * from './state.js';
