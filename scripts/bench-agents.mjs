/**
 * (8) orch inside an agent: the Claude Code hooks as whole processes (they run on every agent stop,
 * so they are timed next to `node -e 0`, interleaved, like (1)), and the MCP tool-call round trip
 * over stdio after initialisation, timed by the SDK's own client in a fresh Node process.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { summarize } from './bench-lib.mjs';

const NODE_FLOOR = [process.execPath, '-e', '0'];

/** Like timeRun, with `input` on stdin (as Claude Code runs a hook command). */
function timeHook(argv, input, { cwd, env }) {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env, input, stdio: ['pipe', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${String(r.stderr).slice(0, 500)}`);
  return { ms, stdout: String(r.stdout) };
}

export async function agentHooksAndMcp(space, cli, { runs, calls }) {
  const root = space.repo('agents');
  const lib = await space.lib();
  const client = await space.connect(root);
  const { sessionId } = await client.request(lib.SessionStartRequest, { task: 'Benchmark agents' });
  client.close();
  const env = space.env();
  const stopInput = JSON.stringify({ session_id: 'bench', transcript_path: '/dev/null', cwd: root, hook_event_name: 'Stop', stop_hook_active: false });
  const startInput = JSON.stringify({ session_id: 'bench', transcript_path: '/dev/null', cwd: root, hook_event_name: 'SessionStart', source: 'startup' });
  const stop = [process.execPath, cli, 'hook', 'stop'];
  const start = [process.execPath, cli, 'hook', 'session-start'];
  // Warm-up: page cache and the client's code cache for `hook`; the stop hook must block here.
  for (let i = 0; i < 3; i++) {
    const out = timeHook(stop, stopInput, { cwd: root, env }).stdout;
    if (!out.includes('"decision":"block"')) throw new Error(`orch hook stop did not block: ${out}`);
    timeHook(start, startInput, { cwd: root, env });
  }
  const floor = [];
  const stopMs = [];
  const startMs = [];
  for (let i = 0; i < runs; i++) {
    floor.push(timeHook(NODE_FLOOR, '', {}).ms);
    stopMs.push(timeHook(stop, stopInput, { cwd: root, env }).ms);
    startMs.push(timeHook(start, startInput, { cwd: root, env }).ms);
  }

  const sdk = (p) => pathToFileURL(join(space.projectRoot, 'node_modules', '@modelcontextprotocol', 'sdk', 'dist', 'esm', p)).href;
  const script = `
    const { Client } = await import(process.env.BENCH_SDK_CLIENT);
    const { StdioClientTransport } = await import(process.env.BENCH_SDK_STDIO);
    const transport = new StdioClientTransport({ command: process.execPath, args: [process.env.BENCH_CLI, 'mcp'], cwd: process.env.BENCH_ROOT, env: process.env, stderr: 'ignore' });
    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(transport);
    const listed = await client.listTools();
    const args = { session: process.env.BENCH_SESSION };
    for (let i = 0; i < 100; i++) await client.callTool({ name: 'orch_status', arguments: args });
    // The same status on a plain daemon connection, interleaved: what MCP adds on this machine now.
    const { OrchClient, SessionStatusRequest } = await import(process.env.BENCH_LIB);
    const plain = await OrchClient.connect({ root: process.env.BENCH_ROOT, autoStart: false, reconnect: false });
    const ms = [];
    const direct = [];
    for (let i = 0; i < Number(process.env.BENCH_N); i++) {
      let t = process.hrtime.bigint();
      await client.callTool({ name: 'orch_status', arguments: args });
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      await plain.request(SessionStatusRequest, { sessionId: process.env.BENCH_SESSION });
      direct.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    plain.close();
    await client.close();
    process.stdout.write(JSON.stringify({ ms, direct, listBytes: Buffer.byteLength(JSON.stringify(listed)), tools: listed.tools.length,
      longestDescription: Math.max(...listed.tools.map((t) => (t.description ?? '').length)) }));`;
  const mcpEnv = space.env({ BENCH_LIB: pathToFileURL(join(space.projectRoot, 'dist', 'client', 'lib.js')).href, BENCH_SDK_CLIENT: sdk('client/index.js'), BENCH_SDK_STDIO: sdk('client/stdio.js'), BENCH_CLI: cli, BENCH_ROOT: root, BENCH_SESSION: sessionId, BENCH_N: String(calls) });
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: mcpEnv, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`the MCP round-trip script exited ${r.status}: ${r.stderr.slice(0, 500)}`);
  const mcp = JSON.parse(r.stdout);
  await space.stopDaemon(root);
  return { floor: summarize(floor), stop: summarize(stopMs), sessionStart: summarize(startMs), mcp: { ...summarize(mcp.ms), direct: summarize(mcp.direct), listBytes: mcp.listBytes, tools: mcp.tools, longestDescription: mcp.longestDescription } };
}
