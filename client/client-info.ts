/**
 * Who this client is, as it says in `daemon/hello`: the daemon lists it in the roster and records
 * it with approvals. `agent` is true for the kinds an AI agent drives (MCP server, hook) and for any
 * client started under an agent, recognised by the variables agents set in their tools'
 * environment. A guardrail, not authentication: a process can always lie about itself.
 */
import type { ClientInfo, ClientKind } from '../protocol/params.js';
import { AGENT_CLIENT_KINDS } from '../protocol/roster.js';
import { ORCH_VERSION } from '../protocol/version.js';


/** True when `env` says an AI agent runs this process (Claude Code, Codex, Cursor, or ORCH_ACTOR_KIND=agent). */
export function runsUnderAgent(env: NodeJS.ProcessEnv): boolean {
  if (env.ORCH_ACTOR_KIND === 'agent') return true;
  if (env.ORCH_ACTOR_KIND === 'human') return false;
  if (env.CLAUDECODE || env.CLAUDE_CODE_ENTRYPOINT || env.CURSOR_AGENT) return true;
  return Object.keys(env).some((k) => k.startsWith('CODEX_') && env[k]);
}

/** This process as a client of `kind`; `sessionId` is the session it is bound to, if any. */
export function describeClient(kind: ClientKind, env: NodeJS.ProcessEnv, sessionId?: string): ClientInfo {
  return {
    kind,
    name: 'orch',
    version: ORCH_VERSION,
    pid: process.pid,
    cwd: process.cwd(),
    ...(sessionId ? { sessionId } : {}),
    agent: AGENT_CLIENT_KINDS.has(kind) || runsUnderAgent(env),
  };
}
