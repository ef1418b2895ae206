/**
 * `.orchestrator/daemon.json`: written after `listen()` succeeds; clients read the socket path from
 * it and never derive it. Removed on shutdown only while it still names this daemon.
 */
import { readFile, rm } from 'node:fs/promises';
import { asRegistration, type DaemonRegistration } from '../../protocol/daemon.js';
import { writeDurable } from '../store/durable-write.js';
import { readFileNoFollow } from '../../protocol/node/safe-fs.js';

export type Registration = DaemonRegistration;

export async function writeRegistration(path: string, reg: Registration): Promise<void> {
  await writeDurable(path, JSON.stringify(reg, null, 2) + '\n', 0o600);
}

export async function readRegistration(path: string): Promise<Registration | null> {
  try {
    return asRegistration(JSON.parse(await readFileNoFollow(path)));
  } catch {
    return null;
  }
}

/** Removes the registration only if it still names `instanceId`. */
export async function removeRegistrationIfOurs(path: string, instanceId: string): Promise<void> {
  const current = await readRegistration(path);
  if (current && current.instanceId === instanceId) await rm(path, { force: true });
}
