/**
 * Portable mode as a team uses it: a bare remote, clones on local disk, real git. Sessions are
 * shared through git; what belongs to one checkout is not.
 */
import { describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitAll, git, pull, push, useTeams } from '../helpers/git-clones.js';
import { ORCH_CLI, orchEnv } from '../helpers/run-orch.js';
import { waitFor } from '../helpers/wait-for.js';

const team = useTeams();

function sessionDir(root: string, id: string): string {
  return join(root, '.orchestrator', 'sessions', id);
}

/** Files under `.orchestrator/` that git tracks, relative to it. */
function trackedOrchFiles(root: string): string[] {
  return git(root, ['ls-files', '.orchestrator']).out.split('\n').filter(Boolean).map((f) => f.replace(/^\.orchestrator\//, ''));
}

/** What belongs to one checkout and must never be committed. */
function isPerCheckout(rel: string): boolean {
  return /^(current|meta\.json|clone\.json|daemon\..*|\.migration\.lock)$/.test(rel) || /(^|\/)commit\.pending$/.test(rel) || rel.startsWith('evidence/');
}

type Team = ReturnType<typeof team>;

/**
 * A portable session started in clone a and pushed; clone b picks it, completes a1, commits and
 * pushes. Returns both clones and the session id.
 */
async function handedOver(t: Team, task: string, bMessage: string): Promise<{ a: string; b: string; s: string }> {
  const a = t.clone('a');
  const s: string = (await t.orchJson(a, ['start', task, '--portable'])).json.sessionId;
  commitAll(a, 'start');
  push(a);
  const b = t.clone('b');
  expect((await t.orch(b, ['sessions', 'switch', s])).code).toBe(0);
  expect((await t.orch(b, ['complete', 'a1', '-q'])).code).toBe(0);
  commitAll(b, bMessage);
  push(b);
  return { a, b, s };
}

describe.each([
  ['with a daemon', '1'],
  ['without a daemon', '0'],
] as const)('portable mode across clones (%s)', (_label, daemon) => {
  test('two clones start sessions, push and pull in both orders: no conflict, both see every session, each keeps its own current, nothing per-checkout is committed', async () => {
    const t = team(daemon);
    const a = t.clone('a');
    const b = t.clone('b');
    const startA = await t.orchJson(a, ['start', 'Task A', '--portable']);
    const startB = await t.orchJson(b, ['start', 'Task B', '--portable']);
    expect(startA.code).toBe(0);
    expect(startB.code).toBe(0);
    const sa: string = startA.json.sessionId;
    const sb: string = startB.json.sessionId;
    expect([...startA.json.warnings, ...startB.json.warnings].join(' ')).not.toMatch(/copied or moved/);

    // A pushes first, B merges; then the other order with a change in each.
    commitAll(a, 'A starts');
    push(a);
    commitAll(b, 'B starts');
    const first = pull(b);
    expect(first.out).not.toMatch(/CONFLICT/);
    expect(first.code).toBe(0);
    push(b);
    expect(pull(a).code).toBe(0);
    expect((await t.orch(a, ['complete', 'a1', '-q'])).code).toBe(0);
    expect((await t.orch(b, ['complete', 'a1', '-q'])).code).toBe(0);
    expect((await t.orch(b, ['checkpoint', '-m', 'B checkpoint', '-q'])).code).toBe(0);
    commitAll(b, 'B works');
    push(b);
    commitAll(a, 'A works');
    const second = pull(a);
    expect(second.out).not.toMatch(/CONFLICT/);
    expect(second.code).toBe(0);
    push(a);
    expect(pull(b).code).toBe(0);

    for (const [root, own] of [
      [a, sa],
      [b, sb],
    ] as const) {
      const list = await t.orchJson(root, ['sessions']);
      expect(list.json.map((s: { sessionId: string }) => s.sessionId).sort()).toEqual([sa, sb].sort());
      expect(list.json.find((s: { current: boolean }) => s.current).sessionId).toBe(own);
      expect(list.json.every((s: { error?: string; progress: { completed: number } }) => s.error === undefined && s.progress.completed === 1)).toBe(true);
      const status = await t.orchJson(root, ['status']);
      expect(status.json.sessionId).toBe(own);
      expect(status.json.warnings).toEqual([]);
      const tracked = trackedOrchFiles(root);
      expect(tracked.filter(isPerCheckout)).toEqual([]);
      expect(tracked).toEqual(expect.arrayContaining(['.gitignore', '.gitattributes', 'repo.json', `sessions/${sa}/state.json`, `sessions/${sb}/log.jsonl`]));
    }
    expect(git(a, ['status', '--porcelain']).out).toBe('');

    // A fresh clone: no "copied" warning, no current session until one is picked.
    const c = t.clone('c');
    const fresh = await t.orchJson(c, ['status']);
    expect(fresh.code).toBe(0);
    expect(fresh.json).toMatchObject({ active: false, warnings: [] });
    expect(fresh.json.reason).toMatch(/No session is current in this checkout/);
    expect(fresh.json.sessions.map((s: { sessionId: string }) => s.sessionId).sort()).toEqual([sa, sb].sort());
    expect(fresh.json.nextAction).toMatch(/^orch sessions switch [0-9a-f]{8}$/);
    const human = await t.orch(c, ['status']);
    expect(human.stdout).toContain(sa);
    expect(human.stdout).toContain('Task B');
    const refused = await t.orch(c, ['complete', 'a1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/No session is current in this checkout.*orch sessions switch/);
    expect((await t.orch(c, ['sessions', 'switch', sa])).code).toBe(0);
    const continued = await t.orchJson(c, ['complete', 'a2']);
    expect(continued.code).toBe(0);
    expect(continued.json.warnings.join(' ')).not.toMatch(/copied or moved/);
    // Continuing a session another clone wrote last is pointed out, once.
    expect(continued.json.warnings.join(' ')).toMatch(new RegExp(`Session ${sa} was last changed in another clone`));
    const again = await t.orchJson(c, ['advance']);
    expect(again.json.warnings.join(' ')).not.toMatch(/another clone/);
    expect(trackedOrchFiles(c).filter(isPerCheckout)).toEqual([]);
  });

  test('one session advanced in two clones gives a clear error naming both versions; resolve keeps one and the other stays on disk', async () => {
    const t = team(daemon);
    const { a, b, s } = await handedOver(t, 'Shared work', 'B completes a1');
    for (const args of [['complete', 'a1'], ['complete', 'a2'], ['advance']]) expect((await t.orch(a, [...args, '-q'])).code).toBe(0);
    commitAll(a, 'A reaches TWO');
    const merge = pull(a);
    expect(merge.code).not.toBe(0);
    expect(merge.out).toMatch(/CONFLICT.*state\.json/);

    const status = await t.orch(a, ['status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(`Session ${s} was changed in two clones`);
    expect(status.stderr).toMatch(/Ours: phase TWO, 2\/3 items done/);
    expect(status.stderr).toMatch(/Theirs: phase ONE, 1\/3 items done/);
    expect(status.stderr).toContain(`orch sessions resolve ${s} --keep ours`);
    const asJson = await t.orchJson(a, ['complete', 'b1']);
    expect(asJson.code).toBe(1);
    expect(asJson.json.error).toMatchObject({ name: 'SessionConflict', details: { sessionId: s, oursPhase: 'TWO', theirsPhase: 'ONE' } });
    const listed = await t.orchJson(a, ['sessions']);
    expect(listed.json[0].error).toMatch(/changed in two clones/);

    const noKeep = await t.orch(a, ['sessions', 'resolve', s]);
    expect(noKeep.code).toBe(2);
    const resolved = await t.orchJson(a, ['sessions', 'resolve', s, '--keep', 'ours']);
    expect(resolved.code).toBe(0);
    expect(resolved.json).toMatchObject({ sessionId: s, kept: 'ours', from: 'git', phase: 'TWO', progress: { completed: 2, total: 3 }, warnings: [] });
    const dir = sessionDir(a, s);
    const theirsState = readdirSync(dir).find((f) => f.startsWith('state.json.theirs-'));
    const theirsLog = readdirSync(dir).find((f) => f.startsWith('log.jsonl.theirs-'));
    expect(theirsState).toBeDefined();
    expect(theirsLog).toBeDefined();
    expect(resolved.json.keptAside).toEqual(expect.arrayContaining([`.orchestrator/sessions/${s}/${theirsState}`]));
    // The other version is whole beside it: B's state and B's log, exactly.
    expect(JSON.parse(readFileSync(join(dir, theirsState!), 'utf8')).current_phase_id).toBe('ONE');
    const theirEvents = readFileSync(join(dir, theirsLog!), 'utf8').trim().split('\n').map((l) => JSON.parse(l).event_type);
    expect(theirEvents).toEqual(['workflow_started', 'phase_started', 'item_completed']);
    const ourEvents = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).event_type);
    expect(ourEvents).toEqual(['workflow_started', 'phase_started', 'item_completed', 'item_completed', 'phase_completed', 'phase_started', 'conflict_resolved']);
    const after = await t.orchJson(a, ['status']);
    expect(after.json).toMatchObject({ sessionId: s, phase: 'TWO', progress: { completed: 2, total: 3 } });
    expect(readFileSync(join(dir, 'state.json'), 'utf8')).not.toMatch(/^<<<<<<< /m);

    git(a, ['add', '-A']);
    git(a, ['commit', '-q', '--no-edit']);
    push(a);
    expect(pull(b).code).toBe(0);
    expect((await t.orchJson(b, ['status'])).json).toMatchObject({ phase: 'TWO' });
    expect((await t.orch(b, ['sessions', 'resolve', s, '--keep', 'ours'])).stderr).toMatch(/no conflict to resolve/);
  });

});

// The cases below do not depend on the daemon mode: once, with a daemon.
describe('portable mode across clones: detection and upgrades', () => {
  const daemon = '1';

  test('a state git resolved to one side while the log kept both sides is still detected, and resolve keeps the state on disk', async () => {
    const t = team(daemon);
    const { a, b, s } = await handedOver(t, 'Shared work', 'B');
    expect((await t.orch(a, ['complete', 'a2', '-q'])).code).toBe(0);
    commitAll(a, 'A');
    expect(pull(a).code).not.toBe(0);
    // The user settles it with git alone: our state.json, the merged log.
    git(a, ['checkout', '--ours', '--', `.orchestrator/sessions/${s}/state.json`, `.orchestrator/sessions/${s}/meta.json`]);
    git(a, ['add', '-A']);
    git(a, ['commit', '-q', '--no-edit']);
    const status = await t.orch(a, ['status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/does not match its log.*item_completed a1/);
    const resolved = await t.orchJson(a, ['sessions', 'resolve', s, '--keep', 'ours']);
    expect(resolved.code).toBe(0);
    expect(resolved.json.from).toBe('file');
    const aside = readdirSync(sessionDir(a, s)).find((f) => f.startsWith('log.jsonl.theirs-'));
    expect(aside).toBeDefined();
    expect(readFileSync(join(sessionDir(a, s), aside!), 'utf8')).toContain('"item_id": "a1"');
    const after = await t.orchJson(a, ['status']);
    expect(after.code).toBe(0);
    expect(after.json.items.map((i: { id: string; status: string }) => `${i.id}:${i.status}`)).toEqual(['a1:pending', 'a2:completed']);
  });

  test("a pull that continues this clone's last change is not taken for a crash, even when this machine's clock ran ahead", async () => {
    const t = team(daemon);
    const { a, b, s } = await handedOver(t, 'Handed over', 'B completes a1');
    // B's bookkeeping of its last change, as a clock an hour or a century ahead would have written it.
    const dir = sessionDir(b, s);
    const logSize = readFileSync(join(dir, 'log.jsonl')).length;
    writeFileSync(join(dir, 'commit.pending'), JSON.stringify({ log_size: logSize, state_updated_at: '2099-01-01T00:00:00.000000Z' }).padEnd(159) + '\n');
    expect(pull(a).code).toBe(0);
    expect((await t.orch(a, ['complete', 'a2', '-q'])).code).toBe(0);
    commitAll(a, 'A completes a2');
    push(a);
    // A daemon checks a session's log once; the next one (or a command without one) checks again.
    expect((await t.orch(b, ['daemon', 'stop'])).code).toBe(0);
    expect(pull(b).code).toBe(0);
    const status = await t.orchJson(b, ['status']);
    expect(status.code).toBe(0);
    expect(status.json.items.map((i: { id: string; status: string }) => `${i.id}:${i.status}`)).toEqual(['a1:completed', 'a2:completed']);
    expect(status.json.warnings.join(' ')).not.toMatch(/never reached state\.json|moved/);
    expect(readdirSync(dir).filter((f) => f.includes('unapplied'))).toEqual([]);
    expect((await t.orch(b, ['advance', '-q'])).code).toBe(0);
  });

  test('a repo that already tracks current and meta.json gets a warning with the git rm --cached line, and no "copied" warning in other clones', async () => {
    const t = team(daemon);
    const a = t.clone('a');
    expect((await t.orch(a, ['start', 'Old layout', '--portable', '-q'])).code).toBe(0);
    // As an older orch left it: current and meta.json (with this clone's path) committed.
    git(a, ['add', '-A']);
    git(a, ['add', '-f', '.orchestrator/current', '.orchestrator/meta.json']);
    git(a, ['commit', '-q', '-m', 'old portable layout']);
    push(a);
    const status = await t.orchJson(a, ['status']);
    const warning = status.json.warnings.join(' ');
    expect(warning).toMatch(/git tracks files that belong to this checkout only/);
    expect(warning).toContain('git rm --cached -q -- .orchestrator/current .orchestrator/meta.json');
    const b = t.clone('b');
    const inB = await t.orchJson(b, ['status']);
    expect(inB.json.warnings.join(' ')).not.toMatch(/the folder was copied or moved/);
    expect(inB.json.warnings.join(' ')).toMatch(/git rm --cached/);
    git(a, ['rm', '--cached', '-q', '--', '.orchestrator/current', '.orchestrator/meta.json']);
    git(a, ['commit', '-q', '-m', 'stop tracking per-checkout files']);
    expect((await t.orchJson(a, ['status'])).json.warnings).toEqual([]);
    expect(existsSync(join(a, '.orchestrator', 'current'))).toBe(true);
  });
});

describe('portable mode and a running daemon', () => {
  test('sessions that arrive or change through a pull are seen by a running orch watch', async () => {
    const t = team('1');
    const a = t.clone('a');
    const first: string = (await t.orchJson(a, ['start', 'First', '--portable'])).json.sessionId;
    commitAll(a, 'first');
    push(a);
    const b = t.clone('b');
    const own: string = (await t.orchJson(b, ['start', 'B own work'])).json.sessionId;
    const child = spawn(process.execPath, [ORCH_CLI, 'watch', '--json'], { cwd: b, env: orchEnv({ ORCH_DAEMON: '1' }) });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const events = () => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; sessionId?: string; external?: boolean; status?: { progress: { completed: number } } });
    try {
      await waitFor(() => out.includes('client/subscribed'), 'watch to subscribe');
      const second: string = (await t.orchJson(a, ['start', 'Second'])).json.sessionId;
      expect((await t.orch(a, ['complete', 'a1', '--session', first, '-q'])).code).toBe(0);
      commitAll(a, 'second, and first advanced');
      push(a);
      commitAll(b, 'B');
      expect(pull(b).code).toBe(0);
      await waitFor(() => events().some((e) => e.event === 'session/didCreate' && e.sessionId === second), 'the new session to be announced');
      const changed = await waitFor(
        () => events().find((e) => e.event === 'session/didChange' && e.sessionId === first && e.external && e.status?.progress.completed === 1),
        'the pulled change of the first session to be announced',
      );
      expect(changed.external).toBe(true);
      expect(events().some((e) => e.sessionId === own && e.event === 'session/didChange')).toBe(false);
      const list = await t.orchJson(b, ['sessions']);
      expect(list.json.map((s: { sessionId: string }) => s.sessionId).sort()).toEqual([first, second, own].sort());
    } finally {
      child.kill('SIGINT');
    }
  });
});
