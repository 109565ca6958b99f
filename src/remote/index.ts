export * from './remote-sink.js';
