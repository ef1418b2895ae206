/**
 * `orch mcp`: a stdio MCP server (the official TypeScript SDK) that lets an agent walk the
 * workflow with seven small tools. It is a client of the repository's daemon like the CLI (the
 * client library: hello as kind `mcp`, auto-start, reconnect), never a writer of its own. stdout
 * carries only MCP; anything else goes to stderr.
 *
 * It binds to one session, so two agents in one checkout never act on each other's: ORCH_SESSION
 * (or --session), else the session its orch_start created, else the repository's current session
 * as it was at the first call. Every request names that session.
 *
 * Tool inputs are the protocol's own schemas (protocol/params.ts), picked and renamed to the short
 * names agents use; there is no approve tool: approvals belong to people. This module is loaded by
 * path at run time (client/mcp-launch.ts), so neither the SDK nor zod enters the CLI's bundle.
 */
import { resolve } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ResponseError } from 'vscode-jsonrpc/node.js';
import { GateWaitRequest, type GateWaitResult } from '../../protocol/gates.js';
import { isOrchErrorData } from '../../protocol/errors.js';
import * as P from '../../protocol/params.js';
import { SessionStartRequest, SessionStatusRequest, type SessionStatusResult, type WorkflowStatusView } from '../../protocol/session.js';
import { CheckpointCreateRequest, ItemCompleteRequest, ItemSkipRequest, PhaseAdvanceRequest, WorkflowFinishRequest, type OperationResult } from '../../protocol/workflow.js';
import { ORCH_VERSION } from '../../protocol/version.js';
import { OrchClient } from '../lib.js';
import { applyToStatus, type Selectors } from '../next-action.js';
import { renderStatusResult } from '../render-status.js';

export interface McpServeOptions {
  root: string;
  env: NodeJS.ProcessEnv;
  /** The session to bind to from the start (ORCH_SESSION or --session). */
  sessionId?: string;
  stderr: (s: string) => void;
}

/** Longest wait per orch_wait call: MCP clients give up on a request after about 60 s. */
export const MAX_WAIT_MS = 50_000;
/** How often orch_wait reports progress while it waits. */
const PROGRESS_EVERY_MS = 10_000;
/** A failed tool's text stays under this many bytes. */
const MAX_ERROR_BYTES = 2048;

/** The tool an MCP client should call for a NEXT_ACTION command, when there is one. */
export function toolFor(action: string): { name: string; arguments: Record<string, unknown> } | null {
  const words = action.split(/\s+/);
  if (words[0] !== 'orch') return null;
  const flag = (name: string) => {
    const at = words.indexOf(name);
    return at >= 0 ? words[at + 1] : undefined;
  };
  switch (words[1]) {
    case 'status':
      return { name: 'orch_status', arguments: {} };
    case 'start':
      return { name: 'orch_start', arguments: { task: '<task>' } };
    case 'complete':
      return { name: 'orch_complete', arguments: { item: words[2], notes: '<what you did>' } };
    case 'skip':
      return { name: 'orch_skip', arguments: { item: words[2], reason: '<why>' } };
    case 'advance':
      return { name: 'orch_advance', arguments: {} };
    case 'finish':
      return { name: 'orch_advance', arguments: { finish: true } };
    // A person approves; the agent waits for it.
    case 'approve-item':
      return { name: 'orch_wait', arguments: { item: words[2] } };
    case 'approve':
      return { name: 'orch_wait', arguments: { phase: true } };
    case 'wait': {
      const item = flag('--item');
      return { name: 'orch_wait', arguments: item ? { item } : words.includes('--phase') ? { phase: true } : {} };
    }
    default:
      return null;
  }
}

/** The structured part every result carries. */
function summaryOf(status: SessionStatusResult): Record<string, unknown> {
  if (!('workflowId' in status)) {
    const nextAction = status.nextAction ?? 'orch start "<task>"';
    return { sessionId: null, active: false, reason: status.reason, phase: null, progress: null, blockers: [], nextAction, nextTool: toolFor(nextAction) };
  }
  return {
    sessionId: status.sessionId,
    task: status.task,
    status: status.status,
    phase: status.phase,
    phaseName: status.phaseName,
    progress: status.progress,
    phaseProgress: status.phaseProgress,
    blockers: status.blockers,
    canAdvance: status.canAdvance,
    nextAction: status.nextAction,
    nextTool: toolFor(status.nextAction),
  };
}

/** One short paragraph: where the workflow stands, ending in NEXT_ACTION. */
function shortText(first: string, status: SessionStatusResult): string {
  if (!('workflowId' in status)) return `${first}\nNo active workflow. ${status.reason}\nNEXT_ACTION: ${status.nextAction ?? 'orch start "<task>"'}`;
  const v = status as WorkflowStatusView;
  const lines = [
    first,
    `Session ${v.sessionId ?? '(legacy)'} · ${v.status} · phase ${v.phase} (${v.phaseName}): ${v.phaseProgress.completed}/${v.phaseProgress.total} done in this phase, ${v.progress.completed}/${v.progress.total} overall.`,
  ];
  if (v.blockers.length > 0) lines.push(`Blockers: ${v.blockers.join(', ')}`);
  lines.push(`NEXT_ACTION: ${v.nextAction}`);
  return lines.join('\n');
}

function result(text: string, structured: Record<string, unknown>, isError = false): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured, ...(isError ? { isError: true } : {}) };
}

/** `text` cut to `max` bytes of UTF-8, keeping its last line (NEXT_ACTION). */
function capBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  const at = text.lastIndexOf('\n');
  const last = at >= 0 ? text.slice(at + 1) : '';
  let head = text.slice(0, at >= 0 ? at : text.length);
  const room = max - Buffer.byteLength(last) - 8;
  while (Buffer.byteLength(head) > room) head = head.slice(0, Math.max(0, head.length - Math.max(16, Math.ceil((Buffer.byteLength(head) - room) / 2))));
  return `${head} …\n${last}`;
}

class OrchMcp {
  private client: Promise<OrchClient> | null = null;
  private bound: string | undefined;
  private readonly inflight = new Set<Promise<CallToolResult>>();
  constructor(private readonly o: McpServeOptions) {
    this.bound = o.sessionId;
  }

  private connect(): Promise<OrchClient> {
    this.client ??= OrchClient.connect({ root: this.o.root, env: this.o.env, client: { kind: 'mcp', ...(this.bound ? { sessionId: this.bound } : {}) } }).catch(
      (err: unknown) => {
        this.client = null;
        throw err;
      },
    );
    return this.client;
  }

  close(): void {
    void this.client?.then((c) => c.close()).catch(() => undefined);
  }

  /** The bound session: ORCH_SESSION, else the one orch_start made, else `current` at the first call (kept). */
  private async session(c: OrchClient): Promise<string | undefined> {
    if (this.bound !== undefined) return this.bound;
    const st = await c.request(SessionStatusRequest, {});
    if ('workflowId' in st && st.sessionId) this.bound = st.sessionId;
    return this.bound;
  }

  /**
   * NEXT_ACTION names the session this server works on, so the CLI line acts on it too. Not the
   * root: editors' configs pass --root, and the agent's shell works in the same checkout.
   */
  private selectors(sessionId: string | null | undefined): Selectors {
    return sessionId ? { session: sessionId } : {};
  }

  private status(view: SessionStatusResult): SessionStatusResult {
    return applyToStatus(view, this.selectors('workflowId' in view ? view.sessionId : null));
  }

  private done(op: OperationResult): CallToolResult {
    const status = this.status(op.status);
    return result(shortText(`✓ ${op.message}`, status), { message: op.message, warnings: op.warnings, ...summaryOf(status) });
  }

  /** A refused or failed call: isError, the reason, and where the workflow stands now (at most 2 KB). */
  private async failed(err: unknown): Promise<CallToolResult> {
    let name = 'Error';
    let message = err instanceof Error ? err.message : String(err);
    if (err instanceof ResponseError) {
      name = isOrchErrorData(err.data) ? err.data.name : err.code === -32601 ? 'MethodNotFound' : `Error${err.code}`;
      if (err.code === -32601) message = `The running orch daemon does not serve this request (${message}); it is older than this orch: run orch daemon restart.`;
    }
    let status: SessionStatusResult | null = null;
    try {
      const c = await this.connect();
      status = this.status(await c.request(SessionStatusRequest, { sessionId: await this.session(c) }));
    } catch {
      // the daemon cannot be asked: the error alone
    }
    const text = capBytes(status ? shortText(`✗ ${name}: ${message}`, status) : `✗ ${name}: ${message}`, MAX_ERROR_BYTES);
    const structured = { error: { name, message: capBytes(message, 1024) }, ...(status ? summaryOf(status) : {}) };
    return result(text, structured, true);
  }

  private call(fn: (c: OrchClient, sessionId: string | undefined) => Promise<CallToolResult>): Promise<CallToolResult> {
    const running = (async () => {
      try {
        const c = await this.connect();
        return await fn(c, await this.session(c));
      } catch (err) {
        return this.failed(err);
      }
    })();
    this.inflight.add(running);
    void running.finally(() => this.inflight.delete(running));
    return running;
  }

  /** Waits for the calls still running (a client may close stdin right after its last request). */
  async drain(): Promise<void> {
    // A request read in the last chunk reaches its handler after a few promise turns.
    await new Promise((r) => setImmediate(r));
    while (this.inflight.size > 0) {
      await Promise.allSettled([...this.inflight]);
      await new Promise((r) => setImmediate(r));
    }
  }

  register(server: McpServer): void {
    const p = P;
    server.registerTool(
      'orch_status',
      {
        description: "The workflow's task, phase, checklist, blockers and NEXT_ACTION. `session` switches this server to another session.",
        inputSchema: { session: p.SessionStatusParams.shape.sessionId.describe('A session id (default: the bound session).') },
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      ({ session }) =>
        this.call(async (c, bound) => {
          const view = this.status(await c.request(SessionStatusRequest, { sessionId: session ?? bound }));
          // Switch only to a session that exists (the request above refused any other).
          if (session !== undefined) this.bound = session;
          return result(renderStatusResult(view), summaryOf(view));
        }),
    );
    server.registerTool(
      'orch_start',
      {
        description: 'Start a workflow for a task in a new session; this server then works on that session.',
        inputSchema: p.SessionStartParams.pick({ task: true, workflow: true }).extend({
          workflow: p.SessionStartParams.shape.workflow.describe('Workflow file in the repo (default workflow.yaml, else the bundled one).'),
        }),
        annotations: { destructiveHint: false, openWorldHint: false },
      },
      ({ task, workflow }) =>
        this.call(async (c) => {
          const started = await c.request(SessionStartRequest, { task, workflow: workflow === undefined ? undefined : resolve(this.o.root, workflow) });
          this.bound = started.sessionId;
          const status = this.status(await c.request(SessionStatusRequest, { sessionId: started.sessionId }));
          const text = shortText(`✓ Started session ${started.sessionId} (${started.workflowId}) from the ${started.workflowSource} workflow.`, status);
          return result(text, { warnings: started.warnings, ...summaryOf(status) });
        }),
    );
    server.registerTool(
      'orch_complete',
      {
        description: "Complete an item of the current phase; orch runs the item's check first (a failed check is an error).",
        inputSchema: { item: p.ItemCompleteParams.shape.itemId, notes: p.ItemCompleteParams.shape.notes },
        annotations: { destructiveHint: false, openWorldHint: false },
      },
      ({ item, notes }) => this.call(async (c, sessionId) => this.done(await c.request(ItemCompleteRequest, { sessionId, itemId: item, notes }))),
    );
    server.registerTool(
      'orch_skip',
      {
        description: 'Skip an optional item of the current phase, with the reason.',
        inputSchema: { item: p.ItemSkipParams.shape.itemId, reason: p.ItemSkipParams.shape.reason },
        annotations: { destructiveHint: false, openWorldHint: false },
      },
      ({ item, reason }) => this.call(async (c, sessionId) => this.done(await c.request(ItemSkipRequest, { sessionId, itemId: item, reason }))),
    );
    server.registerTool(
      'orch_advance',
      {
        description: 'Move to the next phase once the current one is done; finish: true completes the workflow (last phase).',
        inputSchema: {
          finish: z.boolean().optional().describe('Finish the workflow instead (on its last phase).'),
          notes: p.WorkflowFinishParams.shape.notes,
        },
        annotations: { destructiveHint: false, openWorldHint: false },
      },
      ({ finish, notes }) =>
        this.call(async (c, sessionId) =>
          this.done(finish === true ? await c.request(WorkflowFinishRequest, { sessionId, notes }) : await c.request(PhaseAdvanceRequest, { sessionId })),
        ),
    );
    server.registerTool(
      'orch_wait',
      {
        description: 'Wait (at most 50 s per call) until a person approves a gate item or the phase gate; on `waiting`, call again.',
        inputSchema: {
          item: p.GateWaitParams.shape.itemId,
          phase: p.GateWaitParams.shape.phase,
          timeoutSec: z.number().int().min(1).max(50).optional().describe('Give up after this many seconds (default and at most 50).'),
        },
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      ({ item, phase, timeoutSec }, extra) =>
        this.call(async (c, sessionId) => {
          let target: { itemId?: string; phase?: boolean } = item !== undefined ? { itemId: item } : phase === true ? { phase: true } : {};
          if (target.itemId === undefined && target.phase === undefined) {
            // Nothing named: the gate the workflow waits on now, if any.
            const st = await c.request(SessionStatusRequest, { sessionId });
            const gate = 'workflowId' in st ? st.items.find((i) => i.required && i.verification === 'manual_gate' && i.status !== 'completed' && i.status !== 'skipped') : undefined;
            if (gate) target = { itemId: gate.id };
            else if ('workflowId' in st && st.blockers.includes('Awaiting human approval')) target = { phase: true };
            else {
              const status = this.status(st);
              return result(shortText('Nothing waits on a person now.', status), { outcome: 'open', ...summaryOf(status) });
            }
          }
          const timeoutMs = Math.min((timeoutSec ?? MAX_WAIT_MS / 1000) * 1000, MAX_WAIT_MS);
          const token = extra._meta?.progressToken;
          const started = Date.now();
          const ticker =
            token === undefined
              ? null
              : setInterval(() => {
                  const waited = Math.round((Date.now() - started) / 1000);
                  void extra
                    .sendNotification({
                      method: 'notifications/progress',
                      params: { progressToken: token, progress: waited, total: timeoutMs / 1000, message: `waiting for a person (${waited} s)` },
                    })
                    .catch(() => undefined);
                }, PROGRESS_EVERY_MS);
          let waited: GateWaitResult;
          try {
            waited = await c.request(GateWaitRequest, { sessionId, ...target, timeoutMs });
          } finally {
            if (ticker) clearInterval(ticker);
          }
          const status = this.status(waited.status);
          const what = waited.itemId ?? 'the phase gate';
          const outcome = waited.outcome === 'timeout' ? 'waiting' : waited.outcome;
          const first =
            outcome === 'waiting'
              ? `Still waiting for a person to approve ${what}; call orch_wait again.`
              : outcome === 'open'
                ? `✓ ${what} is approved${waited.approvedBy ? ` by ${waited.approvedBy.by}` : ''}.`
                : `${what}: ${outcome}.`;
          return result(shortText(first, status), { outcome, itemId: waited.itemId, approvedBy: waited.approvedBy, ...summaryOf(status) });
        }),
    );
    server.registerTool(
      'orch_checkpoint',
      {
        description: 'Record a checkpoint: what you are doing, key decisions and the files involved, to resume from later.',
        inputSchema: p.CheckpointCreateParams.pick({ message: true, decisions: true, files: true }).required({ message: true }),
        annotations: { destructiveHint: false, openWorldHint: false },
      },
      ({ message, decisions, files }) =>
        this.call(async (c, sessionId) => {
          const made = await c.request(CheckpointCreateRequest, { sessionId, message, decisions, files });
          const status = this.status(await c.request(SessionStatusRequest, { sessionId: made.sessionId }));
          return result(shortText(`✓ Checkpoint ${made.checkpoint.checkpointId} saved (${made.checkpoint.path}).`, status), {
            checkpointId: made.checkpoint.checkpointId,
            ...summaryOf(status),
          });
        }),
    );
  }
}

/** Serves MCP on stdin/stdout until the client closes stdin; returns the exit code. */
export async function serveMcp(o: McpServeOptions): Promise<number> {
  const server = new McpServer(
    { name: 'orch', version: ORCH_VERSION },
    { instructions: 'orch keeps this repository on a workflow: call orch_status, then do what NEXT_ACTION says. People approve gates; wait with orch_wait.' },
  );
  const orch = new OrchMcp(o);
  orch.register(server);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolveClosed) => {
    transport.onclose = () => resolveClosed();
    process.stdin.once('end', () => resolveClosed());
  });
  await server.connect(transport);
  await closed;
  // stdin ended: answer what was asked (the transport can still write), then close.
  await orch.drain();
  orch.close();
  await server.close().catch(() => undefined);
  return 0;
}
