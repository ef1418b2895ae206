/**
 * `.orchestrator/daemon.json`: written after `listen()` succeeds; clients read the socket path from
 * it and never derive it. Removed on shutdown only while it still names this daemon.
 */
import { rm } from 'node:fs/promises';
import { readFileNoFollow } from '../protocol/safe-fs.js';
import { writeDurable } from './durable-write.js';

export interface Registration {
  pid: number;
  /** The daemon's instance id (a fresh nonce per start). */
  instanceId: string;
  socketPath: string;
  protocolVersion: number;
  version: string;
  startedAt: string;
  repoRoot: string;
  logPath: string;
  /** Why this daemon was started, as the client that spawned it said (null when started by hand). */
  startReason: string | null;
}

export async function writeRegistration(path: string, reg: Registration): Promise<void> {
  await writeDurable(path, JSON.stringify(reg, null, 2) + '\n', 0o600);
}

export async function readRegistration(path: string): Promise<Registration | null> {
  try {
    const parsed = JSON.parse(await readFileNoFollow(path)) as Registration;
    return typeof parsed.socketPath === 'string' && typeof parsed.pid === 'number' ? parsed : null;
  } catch {
    return null;
  }
}

/** Removes the registration only if it still names `instanceId`. */
export async function removeRegistrationIfOurs(path: string, instanceId: string): Promise<void> {
  const current = await readRegistration(path);
  if (current && current.instanceId === instanceId) await rm(path, { force: true });
}
