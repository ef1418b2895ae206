export * from './version.js';
export * from './errors.js';
export * from './daemon.js';
export * from './session.js';
export * from './workflow.js';
export * from './events.js';
export * from './feedback.js';
