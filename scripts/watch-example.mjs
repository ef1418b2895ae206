#!/usr/bin/env node
// A minimal editor-plugin-style client: connects to the repo's daemon (starting it if needed),
// subscribes to every session, prints each live change, and survives daemon restarts.
// Usage: node scripts/watch-example.mjs [repo-dir]   (build first: npm run build)
import {
  OrchClient,
  SessionChangedNotification,
  SessionCreatedNotification,
  CurrentSwitchedNotification,
  WorkflowFileChangedNotification,
  ResyncNotification,
} from '../dist/client/lib.js';

const client = await OrchClient.connect({ cwd: process.argv[2] ?? process.cwd() });
const line = (text) => process.stdout.write(`${new Date().toISOString()} ${text}\n`);
client.onNotification(SessionCreatedNotification, (e) => line(`#${e.seq} session ${e.sessionId} created: ${e.session.task}`));
client.onNotification(SessionChangedNotification, (e) => {
  const s = e.status;
  line(`#${e.seq} session ${e.sessionId}${e.external ? ' (edited outside orch)' : ''}: ` +
    (s ? `${s.phase} ${s.phaseProgress.completed}/${s.phaseProgress.total}, next: ${s.nextAction}` : `unreadable: ${e.error}`));
});
client.onNotification(CurrentSwitchedNotification, (e) => line(`#${e.seq} current session is now ${e.sessionId}`));
client.onNotification(WorkflowFileChangedNotification, (e) => line(`#${e.seq} workflow.yaml ${e.valid ? 'changed' : 'is invalid: ' + e.errors.join('; ')}`));
client.onNotification(ResyncNotification, (e) => line(`resync (${e.reason})`));
client.on('disconnected', () => line('daemon went away; reconnecting…'));
client.on('reconnected', ({ restarted }) => line(restarted ? 'reconnected to a new daemon' : 'reconnected'));
await client.subscribe({});
line(`watching ${client.paths.root} (Ctrl-C to stop)`);
process.on('SIGINT', () => {
  client.close();
  process.exit(0);
});
