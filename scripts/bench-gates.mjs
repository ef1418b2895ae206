/**
 * Issue 12 in `npm run bench`: how soon `orch wait` returns once a person's approval is on disk
 * (section 8), and what `orch who` costs with 100 clients connected (section 9).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, nowMs, sleep, summarize, timeRun, withTimeout } from './bench-lib.mjs';

/** One phase of `n` manual gate items `gate_0` … `gate_{n-1}`. */
function gatesWorkflow(n) {
  const items = Array.from({ length: n }, (_, i) => `      - id: gate_${i}\n        name: "Gate ${i}"\n        verification: { type: manual_gate }\n`).join('');
  return `name: "Gates"\nversion: "1.0"\nphases:\n  - id: SIGN\n    name: "Sign off"\n    items:\n${items}`;
}

/** Waits until process `pid` has a gate/wait parked in the daemon (its roster entry says so). */
async function parked(client, lib, pid, timeoutMs = 30_000) {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    const { connections } = await client.request(lib.RosterListRequest, {});
    if (connections.some((c) => c.pid === pid && c.lastMethod === 'gate/wait')) return;
    if (nowMs() > deadline) throw new Error(`orch wait (pid ${pid}) did not reach the daemon within ${timeoutMs} ms`);
    await sleep(2);
  }
}

/**
 * Section 8. For each of `runs` gates: a spawned `orch wait --item gate_i` is parked in the daemon
 * (seen in the roster), then a library client approves the gate. Measured: from the approval's
 * reply (the change is on disk: the daemon answers only after state.json and the log are written
 * and synced) to the `orch wait` process having exited with 0 — the whole return, output and
 * process exit included. Also, for a library client waiting through gate/wait on its own
 * connection, from the approval's reply to the wait's answer.
 */
export async function wakeLatency(space, cli, { runs }) {
  const warmups = 3;
  const root = space.repo('wake');
  writeFileSync(join(root, 'workflow.yaml'), gatesWorkflow(2 * (runs + warmups)));
  const lib = await space.lib();
  const approver = await space.connect(root);
  await approver.request(lib.SessionStartRequest, { task: 'Benchmark wake-up' });
  const env = space.env({ ORCH_ACTOR_KIND: 'human' });
  const afterReply = [];
  const fromSend = [];
  let failures = 0;
  for (let i = 0; i < runs + warmups; i++) {
    const itemId = `gate_${i}`;
    const child = spawn(process.execPath, [cli, 'wait', '--item', itemId, '--timeout', '60s', '-q'], { cwd: root, env, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve({ code, at: nowMs() })));
    await parked(approver, lib, child.pid);
    const sent = nowMs();
    await approver.request(lib.ItemApproveRequest, { itemId });
    const replied = nowMs();
    const { code, at } = await withTimeout(exited, 30_000, () => ({ code: null, at: NaN }));
    if (code !== 0) {
      failures++;
      child.kill('SIGKILL');
      continue;
    }
    if (i < warmups) continue;
    afterReply.push(at - replied);
    fromSend.push(at - sent);
  }
  // The same through the library: a client parked in gate/wait on its own connection.
  const waiter = await space.connect(root);
  const libAfterReply = [];
  for (let i = runs + warmups; i < 2 * (runs + warmups); i++) {
    const itemId = `gate_${i}`;
    const answered = waiter.request(lib.GateWaitRequest, { itemId, timeoutMs: 60_000 }).then((r) => ({ r, at: nowMs() }));
    await parked(approver, lib, process.pid);
    await approver.request(lib.ItemApproveRequest, { itemId });
    const replied = nowMs();
    const { r, at } = await answered;
    if (r.outcome !== 'open') failures++;
    else if (i >= runs + 2 * warmups) libAfterReply.push(at - replied);
  }
  waiter.close();
  await space.stopDaemon(root, approver);
  space.removeRepo(root);
  return { cli: summarize(afterReply), cliFromSend: summarize(fromSend), library: summarize(libAfterReply), failures };
}

/**
 * Section 9: `orch who --json` as a whole process (fork to exit) while `clients` library clients
 * are connected, next to `orch status` on the same daemon.
 */
export async function whoWithClients(space, cli, { clients, runs }) {
  const root = space.repo('who');
  const lib = await space.lib();
  const first = await space.connect(root);
  await first.request(lib.SessionStartRequest, { task: 'Benchmark who' });
  const connected = [first];
  for (let i = 1; i < clients; i++) connected.push(await space.connect(root));
  const env = space.env();
  const who = [];
  const status = [];
  let listed = 0;
  for (let i = 0; i < runs + 2; i++) {
    const w = timeRun([process.execPath, cli, 'who', '--json'], { cwd: root, env });
    const s = timeRun([process.execPath, cli, 'status'], { cwd: root, env });
    if (i < 2) continue;
    who.push(w.ms);
    status.push(s.ms);
    listed = JSON.parse(w.stdout).connections.length;
  }
  for (const c of connected.slice(1)) c.close();
  await space.stopDaemon(root, first);
  space.removeRepo(root);
  return { clients, listed, who: summarize(who), status: { median: median(status), n: status.length } };
}
