/**
 * `orch mcp` as an agent's editor runs it: the SDK's own Client and StdioClientTransport spawn the
 * built `orch mcp` in a temp repo, with a real daemon behind it.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { daemonPidsFor, readRegistration } from '../helpers/daemons.js';
import { ORCH_CLI, orchEnv, runOrch, runOrchJson } from '../helpers/run-orch.js';
import { useRepoRegistry } from '../helpers/repo-registry.js';
import { waitFor } from '../helpers/wait-for.js';
import type { TempRepo } from '../helpers/temp-repo.js';

const { repo } = useRepoRegistry();

const open: Client[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close().catch(() => undefined);
});

const WORKFLOW = `name: "Agent flow"
version: "1.0"
phases:
  - id: BUILD
    name: "Build"
    items:
      - id: write_code
        name: "Write the code"
      - id: plan_file
        name: "The plan exists"
        verification: {type: file_exists, path: "docs/plan.md"}
      - id: tests_pass
        name: "Tests pass"
        step_type: gate
        verification: {type: command, command: "node -e \\"process.stdout.write('x'.repeat(200000)); process.exit(Number(require('fs').existsSync('ok') ? 0 : 1))\\""}
  - id: SHIP
    name: "Ship"
    items:
      - id: release_notes
        name: "Write release notes"
`;

async function connect(r: TempRepo, env: NodeJS.ProcessEnv = {}): Promise<{ client: Client; transport: StdioClientTransport; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [ORCH_CLI, 'mcp'],
    cwd: r.root,
    env: orchEnv({ ORCH_DAEMON: '1', ...env }) as Record<string, string>,
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: 'orch-test', version: '1.0.0' });
  await client.connect(transport);
  open.push(client);
  return { client, transport, stderr: () => err };
}

type ToolResult = { isError?: boolean; content: { type: string; text: string }[]; structuredContent?: Record<string, any> };

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

function textOf(res: ToolResult): string {
  expect(res.content).toHaveLength(1);
  return res.content[0]!.text;
}

/** What the CLI says about the session: the reference for every nextAction. */
async function cliStatus(r: TempRepo, id: string): Promise<any> {
  const { code, json } = await runOrchJson(['status', '--session', id], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
  expect(code).toBe(0);
  return json;
}

/** The result agrees with `orch status --json --session <id>` and its text ends in the same NEXT_ACTION. */
async function expectInStep(r: TempRepo, res: ToolResult, id: string): Promise<any> {
  const cli = await cliStatus(r, id);
  expect(res.structuredContent).toMatchObject({ sessionId: id, phase: cli.phase, progress: cli.progress, blockers: cli.blockers, nextAction: cli.nextAction });
  expect(textOf(res).split('\n').pop()).toBe(`NEXT_ACTION: ${cli.nextAction}`);
  // The state on disk is what orch status shows.
  const state = JSON.parse(readFileSync(join(r.root, '.orchestrator', 'sessions', id, 'state.json'), 'utf8'));
  expect(state.current_phase_id).toBe(cli.phase);
  expect(state.status).toBe(cli.status);
  expect(Object.fromEntries(cli.items.map((i: any) => [i.id, state.phases[cli.phase].items[i.id].status]))).toEqual(
    Object.fromEntries(cli.items.map((i: any) => [i.id, i.status])),
  );
  return cli;
}

describe('orch mcp', () => {
  test('lists seven small tools, none to approve: each description under 200 characters, the whole list under 6 KB', async () => {
    const r = repo();
    const { client } = await connect(r);
    const listed = await client.listTools();
    const names = listed.tools.map((t) => t.name).sort();
    expect(names).toEqual(['orch_advance', 'orch_checkpoint', 'orch_complete', 'orch_skip', 'orch_start', 'orch_status', 'orch_wait']);
    expect(listed.tools.length).toBeLessThanOrEqual(8);
    for (const t of listed.tools) expect((t.description ?? '').length).toBeLessThan(200);
    expect(Buffer.byteLength(JSON.stringify(listed))).toBeLessThan(6 * 1024);
    expect(listed.tools.find((t) => t.name === 'orch_status')?.annotations?.readOnlyHint).toBe(true);
    // Inputs come from the protocol's schemas: the item id's description is the protocol's.
    const complete = listed.tools.find((t) => t.name === 'orch_complete')!;
    expect(complete.inputSchema.required).toEqual(['item']);
    expect((complete.inputSchema.properties as any).item.description).toBe('The checklist item to complete.');
  });

  test('an agent walks start → status → complete → advance → finish, each nextAction the one orch status gives, through the one daemon', async () => {
    const r = repo();
    writeFileSync(join(r.root, 'workflow.yaml'), WORKFLOW);
    const { client, transport } = await connect(r);

    const none = await call(client, 'orch_status');
    expect(none.isError).toBeFalsy();
    expect(none.structuredContent).toMatchObject({ active: false, nextAction: 'orch start "<task>"', nextTool: { name: 'orch_start' } });

    const started = await call(client, 'orch_start', { task: 'Ship the agent flow' });
    expect(started.isError).toBeFalsy();
    const id = started.structuredContent!.sessionId as string;
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    await expectInStep(r, started, id);
    expect(started.structuredContent!.nextAction).toBe(`orch complete write_code --notes "<what you did>" --session ${id}`);
    expect(started.structuredContent!.nextTool).toEqual({ name: 'orch_complete', arguments: { item: 'write_code', notes: '<what you did>' } });

    // Exactly one daemon serves the repo, and the MCP server is not it.
    const daemons = daemonPidsFor(r.root);
    expect(daemons).toHaveLength(1);
    expect(readRegistration(r.root)?.pid).toBe(daemons[0]);
    expect(transport.pid).not.toBeNull();
    expect(daemons).not.toContain(transport.pid);

    const status = await call(client, 'orch_status');
    await expectInStep(r, status, id);
    expect(textOf(status)).toContain('Checklist (* = required):');

    await expectInStep(r, await call(client, 'orch_complete', { item: 'write_code', notes: 'Wrote it' }), id);

    // A failed verification: isError, at most 2 KB, and where the workflow stands.
    const missing = await call(client, 'orch_complete', { item: 'plan_file' });
    expect(missing.isError).toBe(true);
    expect(missing.structuredContent).toMatchObject({ error: { name: 'VerificationFailed' }, sessionId: id });
    expect(textOf(missing)).toContain('File not found');
    const cli = await cliStatus(r, id);
    expect(cli.items.find((i: any) => i.id === 'plan_file').status).toBe('failed');

    const gate = await call(client, 'orch_complete', { item: 'tests_pass' });
    expect(gate.isError).toBe(true);
    expect(gate.structuredContent!.error.name).toBe('VerificationFailed');
    expect(Buffer.byteLength(JSON.stringify(gate))).toBeLessThanOrEqual(2 * 1024 + 1024);
    expect(Buffer.byteLength(textOf(gate))).toBeLessThanOrEqual(2048);
    expect(textOf(gate).split('\n').pop()).toMatch(/^NEXT_ACTION: orch complete /);

    writeFileSync(join(r.root, 'ok'), '');
    mkdirSync(join(r.root, 'docs'));
    writeFileSync(join(r.root, 'docs', 'plan.md'), '# plan\n');
    await expectInStep(r, await call(client, 'orch_complete', { item: 'plan_file' }), id);
    const ready = await call(client, 'orch_complete', { item: 'tests_pass' });
    await expectInStep(r, ready, id);
    expect(ready.structuredContent!.nextAction).toBe(`orch advance --session ${id}`);

    const advanced = await call(client, 'orch_advance');
    const inShip = await expectInStep(r, advanced, id);
    expect(inShip.phase).toBe('SHIP');

    const last = await call(client, 'orch_complete', { item: 'release_notes', notes: 'Notes written' });
    await expectInStep(r, last, id);
    expect(last.structuredContent!.nextAction).toBe(`orch finish --session ${id}`);
    expect(last.structuredContent!.nextTool).toEqual({ name: 'orch_advance', arguments: { finish: true } });

    const finished = await call(client, 'orch_advance', { finish: true, notes: 'Done' });
    const end = await expectInStep(r, finished, id);
    expect(end.status).toBe('completed');
    expect(finished.structuredContent!.nextAction).toBe('orch start "<task>"');

    const cp = await call(client, 'orch_checkpoint', { message: 'Wrapped up', decisions: ['ship it'] });
    expect(cp.isError).toBeFalsy();
    expect(cp.structuredContent!.checkpointId).toMatch(/^cp_/);
    expect(daemonPidsFor(r.root)).toEqual(daemons);
  });

  test('stays on its own session when another agent starts one from the CLI', async () => {
    const r = repo();
    const { client } = await connect(r);
    const mine = (await call(client, 'orch_start', { task: 'Mine' })).structuredContent!.sessionId as string;
    const other = await runOrchJson(['start', 'Theirs'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
    expect(other.code).toBe(0);
    expect(other.json.sessionId).not.toBe(mine);
    const status = await call(client, 'orch_status');
    expect(status.structuredContent).toMatchObject({ sessionId: mine, task: 'Mine' });
    const item = (await cliStatus(r, mine)).items[0].id as string;
    await call(client, 'orch_complete', { item, notes: 'done' });
    expect((await cliStatus(r, mine)).items[0].status).toBe('completed');
    expect((await cliStatus(r, other.json.sessionId)).items[0].status).toBe('pending');
  });

  test('binds to ORCH_SESSION from its environment; a bad tool argument is an error naming the field', async () => {
    const r = repo();
    const first = await runOrchJson(['start', 'First'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
    await runOrchJson(['start', 'Second'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
    const { client } = await connect(r, { ORCH_SESSION: first.json.sessionId });
    expect((await call(client, 'orch_status')).structuredContent).toMatchObject({ sessionId: first.json.sessionId, task: 'First' });
    // A session that does not exist is an error, and the server stays where it was.
    const missing = await call(client, 'orch_status', { session: 'deadbeef' });
    expect(missing.isError).toBe(true);
    expect(missing.structuredContent!.error.name).toBe('SessionNotFound');
    expect((await call(client, 'orch_status')).structuredContent).toMatchObject({ sessionId: first.json.sessionId, task: 'First' });
    const bad = await call(client, 'orch_complete', { item: 42 });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/item/);
  });

  test('a client that closes stdin right after its last request still gets the answer, and the server exits', async () => {
    const r = repo();
    const child = spawn(process.execPath, [ORCH_CLI, 'mcp'], { cwd: r.root, env: orchEnv({ ORCH_DAEMON: '1' }), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const messages = [
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'orch_start', arguments: { task: 'Last words' } } },
    ];
    child.stdin.end(messages.map((m) => JSON.stringify(m)).join('\n') + '\n');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((resolve) => (timer = setTimeout(() => resolve('still running after 30 s'), 30_000)));
    const code = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
    expect(code).toBe(0);
    const replies = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(replies.map((m) => m.id)).toEqual([1, 2]);
    expect(replies[1].result.structuredContent.task).toBe('Last words');
  });

  test('orch_wait returns when a person approves from the CLI', async () => {
    const r = repo();
    writeFileSync(
      join(r.root, 'workflow.yaml'),
      `name: "Gate"\nversion: "1.0"\nphases:\n  - id: P\n    name: "P"\n    items:\n      - id: sign_off\n        name: "Sign off"\n        verification: {type: manual_gate}\n`,
    );
    const { client } = await connect(r);
    const id = (await call(client, 'orch_start', { task: 'Wait for a person' })).structuredContent!.sessionId as string;
    const progress: number[] = [];
    const waiting = client.callTool({ name: 'orch_wait', arguments: { item: 'sign_off', timeoutSec: 40 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
      timeout: 60_000,
    }) as Promise<ToolResult>;
    // Approve only once the MCP server's wait is parked in the daemon (the roster shows it), so the
    // daemon's change event is what ends it, not an answer that found the gate open already.
    await waitFor(
      async () => {
        const who = await runOrchJson(['who'], { cwd: r.root, env: { ORCH_DAEMON: '1' } });
        return (who.json?.connections ?? []).some((c: { kind: string; lastMethod: string | null }) => c.kind === 'mcp' && c.lastMethod === 'gate/wait');
      },
      'the MCP server to be waiting in gate/wait',
      30_000,
      100,
    );
    // A person approves from a terminal (not under an agent).
    const approved = await runOrch(['approve-item', 'sign_off', '--session', id], { cwd: r.root, env: { ORCH_DAEMON: '1', ORCH_ACTOR_KIND: 'human' } });
    expect(approved.code).toBe(0);
    const res = await waiting;
    expect(res.isError).toBeFalsy();
    expect(res.structuredContent).toMatchObject({ outcome: 'open', itemId: 'sign_off', sessionId: id });
    expect(res.structuredContent!.nextAction).toBe((await cliStatus(r, id)).nextAction);
  });

  test('mcp config prints the entry with absolute paths; --write merges into each client file keeping other servers', async () => {
    const r = repo();
    const printed = await runOrch(['mcp', 'config'], { cwd: r.root });
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual({ mcpServers: { orch: { command: process.execPath, args: [ORCH_CLI, 'mcp', '--root', r.root] } } });

    writeFileSync(join(r.root, '.mcp.json'), JSON.stringify({ mcpServers: { other: { command: 'x' } }, extra: true }));
    expect((await runOrch(['mcp', 'config', '--client', 'claude', '--write'], { cwd: r.root })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(r.root, '.mcp.json'), 'utf8'))).toEqual({
      mcpServers: { other: { command: 'x' }, orch: { command: process.execPath, args: [ORCH_CLI, 'mcp', '--root', r.root] } },
      extra: true,
    });

    expect((await runOrch(['mcp', 'config', '--client', 'vscode', '--write'], { cwd: r.root })).code).toBe(0);
    expect(JSON.parse(readFileSync(join(r.root, '.vscode', 'mcp.json'), 'utf8'))).toEqual({
      servers: { orch: { type: 'stdio', command: process.execPath, args: [ORCH_CLI, 'mcp', '--root', r.root] } },
    });
    expect((await runOrch(['mcp', 'config', '--client', 'cursor', '--write'], { cwd: r.root })).code).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(join(r.root, '.cursor', 'mcp.json'), 'utf8')).mcpServers)).toEqual(['orch']);
    expect((await runOrch(['mcp', 'config', '--client', 'zed'], { cwd: r.root })).code).toBe(2);
  });
});
