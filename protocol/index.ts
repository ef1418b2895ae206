export * from './version.js';
export * from './errors.js';
export * from './daemon.js';
export * from './session.js';
export * from './workflow.js';
