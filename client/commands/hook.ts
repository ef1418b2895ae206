/**
 * `orch hook session-start|stop|install`: Claude Code's lifecycle hooks. Claude Code runs the hook
 * with a JSON object on stdin and reads a JSON object from stdout (exit 0). Hooks run on every
 * agent stop, so this path stays lean: one request to the daemon, no zod, no MCP SDK. A hook never
 * fails the agent: when orch cannot answer it says why on stderr and lets the agent go on.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { HookStopRequest, type HookStopResult } from '../../protocol/hooks.js';
import { isSessionId } from '../../protocol/node/paths.js';
import { SessionStatusRequest, type SessionStatusResult, type WorkflowStatusView } from '../../protocol/session.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { CliError, usageError } from '../errors.js';
import { applyToStatus, selectorsOf, withSelectors, type Selectors } from '../next-action.js';
import { renderStatusResult } from '../render-status.js';

/** What Claude Code sends on stdin (the fields orch uses). */
interface HookInput {
  session_id?: unknown;
  stop_hook_active?: unknown;
  source?: unknown;
}

/** Largest hook input read (Claude Code sends a few hundred bytes). */
const MAX_INPUT = 1024 * 1024;
/** additionalContext stays under about 2k tokens. */
const MAX_CONTEXT_CHARS = 6000;

/** The hook's JSON input; `{}` when there is none (run by hand at a terminal) or it is not JSON. */
function readInput(): HookInput {
  try {
    // A pipe or a file, as Claude Code gives it; never wait on a terminal.
    const st = fstatSync(0);
    if (!st.isFIFO() && !st.isFile() && !st.isSocket()) return {};
    const text = readFileSync(0, 'utf8').slice(0, MAX_INPUT);
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as HookInput) : {};
  } catch {
    return {};
  }
}

/** One JSON line on stdout, written directly: a hook runs on every agent stop, and the stream costs time. */
function emit(ctx: CommandContext, value: unknown): void {
  const line = JSON.stringify(value) + '\n';
  try {
    writeSync(1, line);
  } catch {
    ctx.out.io.stdout(line);
  }
}

function failOpen(ctx: CommandContext, hook: string, err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  ctx.out.io.stderr(`orch hook ${hook}: orch could not be asked (${message.replace(/^orch: /, '')}), so the agent goes on unchecked.\n`);
  return 0;
}

/**
 * `.orchestrator/` of the repository the hook runs in, or null outside any repository (a hook in
 * the user's own settings runs everywhere: there it has nothing to say).
 */
function orchDirOrNull(ctx: CommandContext): string | null {
  try {
    return ctx.paths().orchDir;
  } catch (err) {
    if (err instanceof CliError && err.errorName === 'RepoNotInitialized') return null;
    throw err;
  }
}

/** Stop: block while the agent has work in the current phase; see daemon/services/hooks.ts. */
async function stop(ctx: CommandContext): Promise<number> {
  const input = readInput();
  try {
    // A repository that never used orch (or no repository) has nothing to hold the agent to.
    const orchDir = orchDirOrNull(ctx);
    if (orchDir === null || !existsSync(orchDir)) return 0;
    const sessionId = ctx.sessionId();
    const conn = await ctx.connect();
    const result = await conn.sendRequest(HookStopRequest, {
      sessionId,
      agentSessionId: typeof input.session_id === 'string' ? input.session_id.slice(0, 200) : undefined,
      stopHookActive: input.stop_hook_active === true,
    });
    const out = stopOutput(result, selectorsOf(ctx));
    if (out !== null) emit(ctx, out);
    return 0;
  } catch (err) {
    return failOpen(ctx, 'stop', err);
  }
}

/** The Stop hook's JSON for a decision; null prints nothing (the stop goes ahead silently). */
export function stopOutput(result: HookStopResult, sel: Selectors): Record<string, unknown> | null {
  if (!('workflowId' in result.status)) return null;
  const view = applyToStatus(result.status, sel) as WorkflowStatusView;
  const phase = `phase ${view.phase} (${view.phaseName})`;
  switch (result.reason) {
    case 'open': {
      const why = view.blockers.length > 0 ? `orch: ${phase} is not done: ${view.blockers.join(', ')}.` : `orch: every required item of ${phase} is done.`;
      return { decision: 'block', reason: `${why}\nNEXT_ACTION: ${view.nextAction}` };
    }
    case 'person': {
      const how = result.gates.map((g) =>
        g.startsWith('phase:') ? `the phase gate (${withSelectors('orch approve', sel)})` : `${g} (${withSelectors(`orch approve-item ${g}`, sel)})`,
      );
      return { systemMessage: `orch: ${phase} waits on a person to approve ${how.join(' and ')}.` };
    }
    case 'unchanged':
      return { systemMessage: `orch: the agent stopped with ${phase} unfinished; nothing changed since it was last reminded. NEXT_ACTION: ${view.nextAction}` };
    default:
      return null;
  }
}

/** The session's status as context for the agent, under about 2k tokens, ending in NEXT_ACTION. */
export function sessionContext(status: SessionStatusResult): string {
  const head =
    'orch keeps this repository on a workflow. Follow NEXT_ACTION exactly (it is one orch command), run `orch status` ' +
    'to see where things stand, never pass --force, and when a person must approve, wait with `orch wait` rather than approving yourself.';
  let body = renderStatusResult(status);
  if (head.length + body.length + 2 > MAX_CONTEXT_CHARS) {
    // Keep the start (task, phase, progress) and the end (blockers, NEXT_ACTION); cut the checklist.
    const lines = body.split('\n');
    const tail = lines.slice(-4).join('\n');
    let kept = '';
    for (const line of lines.slice(0, -4)) {
      if (head.length + kept.length + line.length + tail.length + 40 > MAX_CONTEXT_CHARS) break;
      kept += line + '\n';
    }
    body = `${kept}  … (run orch status for the whole checklist)\n${tail}`;
  }
  return `${head}\n\n${body}`;
}

/** Appends `export ORCH_SESSION=<id>` to Claude Code's env file, so the agent's shell stays on its session. */
function exportSession(file: string, sessionId: string): void {
  const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `export ORCH_SESSION=${sessionId}\n`);
  } finally {
    closeSync(fd);
  }
}

async function sessionStart(ctx: CommandContext): Promise<number> {
  readInput();
  try {
    const orchDir = orchDirOrNull(ctx);
    if (orchDir === null) return 0;
    let status: SessionStatusResult;
    if (!existsSync(orchDir)) {
      // No session yet: say so without starting a daemon or creating .orchestrator/.
      status = { active: false, reason: 'This repository has no orch session yet.', warnings: [] };
    } else {
      const conn = await ctx.connect({ readOnly: true });
      status = await conn.sendRequest(SessionStatusRequest, { sessionId: ctx.sessionId() });
    }
    const sel = selectorsOf(ctx);
    const id = 'workflowId' in status ? status.sessionId : null;
    const envFile = ctx.env.CLAUDE_ENV_FILE;
    if (id !== null && isSessionId(id) && status.active) {
      sel.session = id;
      if (envFile) exportSession(envFile, id);
    }
    applyToStatus(status, sel);
    emit(ctx, { hookSpecificOutput: { hookEventName: 'SessionStart', additionalContext: sessionContext(status) } });
    return 0;
  } catch (err) {
    return failOpen(ctx, 'session-start', err);
  }
}

export const command: CommandSpec = {
  name: 'hook',
  clientKind: 'hook',
  summary: 'Claude Code hooks: session-start, stop (read the hook JSON on stdin), install',
  help: `Usage: orch hook session-start | stop        (run by Claude Code, JSON on stdin and stdout)
       orch hook install claude [--local] [--print]

session-start   prints {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": …}}:
                the task, phase, blockers and NEXT_ACTION (under about 2k tokens). With
                $CLAUDE_ENV_FILE set it appends "export ORCH_SESSION=<id>" there, so the agent's
                shell stays on its session.
stop            prints {"decision": "block", "reason": "<blockers>\\nNEXT_ACTION: …"} while the agent
                has work in the current phase. It lets the agent stop (printing nothing, or a
                systemMessage) when the phase waits on a person, when the agent was already
                reminded and nothing changed since, when the workflow is finished, and when orch
                cannot be reached (said on stderr). Always exits 0.
install claude  adds both hooks to .claude/settings.json (--local: .claude/settings.local.json),
                keeping every other setting; --print prints the merged file instead of writing it.

Example:
  orch hook install claude
  echo '{"stop_hook_active": false}' | orch hook stop`,
  options: { local: { type: 'boolean' }, print: { type: 'boolean' } },
  async run(ctx) {
    const [sub, ...rest] = ctx.positionals;
    if (sub === 'stop' || sub === 'session-start') {
      if (rest.length > 0) throw usageError(`orch hook ${sub} takes no arguments; Claude Code passes its JSON on stdin.`);
      return sub === 'stop' ? stop(ctx) : sessionStart(ctx);
    }
    if (sub === 'install') return (await import('./hook-install.js')).install(ctx, rest);
    throw usageError('orch hook needs session-start, stop or install, e.g. orch hook install claude; see orch hook --help.');
  },
};
