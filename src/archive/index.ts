export * from './archive-layout.js';
export * from './object-lock.js';
export * from './push.js';
export * from './range-start.js';
export * from './s3-location.js';
export * from './s3-objects.js';
export * from './verify-archive.js';
