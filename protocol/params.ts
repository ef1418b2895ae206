/**
 * The parameters of every request, declared once, as zod schemas. The daemon validates each
 * request's params against its schema before a service sees them (a wrong type is JSON-RPC
 * `InvalidParams` naming the field); the TypeScript types of the params are inferred from the
 * same schemas, and later consumers (the MCP server's tool inputs) take the same shapes.
 *
 * Kept apart from the request types (`session.ts`, `workflow.ts`, …), which import only the
 * inferred *types* from here: the CLI's warm path loads the request objects but never zod.
 *
 * Schemas check shape only (types, required fields). Rules about values (a task's length, a
 * session id's form, a path inside the repo) belong to the services, whose errors say more.
 */
import { z } from 'zod';

/** Selects a session; omitted means the repo's `current` session. */
const sessionSelector = {
  sessionId: z.string().optional().describe('A session id (8 hex characters); default: the current session.'),
};

// daemon/*

/** Kinds of client, as they say in their hello (the roster shows them; agents' kinds cannot approve). */
export const ClientKind = z.enum(['cli', 'watch', 'mcp', 'hook', 'editor', 'web', 'library']);
export type ClientKind = z.infer<typeof ClientKind>;

/** Who a client is: said once in `daemon/hello`, shown by `roster/list`, recorded with approvals. */
export const ClientInfo = z.object({
  kind: ClientKind.describe('What kind of client this is.'),
  name: z.string().max(200).optional().describe('The program, e.g. "orch", "orch.nvim".'),
  version: z.string().max(100).optional().describe("The client's own version."),
  pid: z.number().int().nonnegative().optional().describe("The client's process id."),
  cwd: z.string().max(4096).optional().describe("The client's working directory."),
  sessionId: z.string().max(100).optional().describe('The session the client is bound to, if any.'),
  agent: z
    .boolean()
    .optional()
    .describe('True when an AI agent drives this client (MCP server, hook, or a CLI run under an agent): it may not approve.'),
});
export type ClientInfo = z.infer<typeof ClientInfo>;

export const DaemonHelloParams = z.object({
  protocolVersion: z.number().describe("The client's protocol version."),
  clientVersion: z.string().describe("The client's orch version, for the daemon log."),
  client: ClientInfo.optional().describe('Who the client is; a client that does not say is listed as kind library.'),
});
export type DaemonHelloParams = z.infer<typeof DaemonHelloParams>;

export const DaemonStatusParams = z.object({});
export type DaemonStatusParams = z.infer<typeof DaemonStatusParams>;

export const DaemonShutdownParams = z.object({
  reason: z.string().optional().describe("Recorded in the daemon log and reported by the next daemon's status."),
});
export type DaemonShutdownParams = z.infer<typeof DaemonShutdownParams>;

// session/*

export const SessionStartParams = z.object({
  task: z.string().describe('The task this workflow run is for.'),
  workflow: z
    .string()
    .optional()
    .describe('Absolute path of the workflow file inside the repo; default <repo>/workflow.yaml, else the bundled default.'),
  project: z.string().optional().describe('Project name, stored in state.'),
  constraints: z.array(z.string()).optional().describe('Constraints, each at most 1000 characters.'),
  portable: z.boolean().optional().describe('Switch the repo to portable mode (sessions may be committed).'),
});
export type SessionStartParams = z.infer<typeof SessionStartParams>;

export const SessionStatusParams = z.object({ ...sessionSelector });
export type SessionStatusParams = z.infer<typeof SessionStatusParams>;

export const SessionListParams = z.object({
  limit: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('At most this many rows, newest first (the CLI asks for 20 unless told --all); default: every session.'),
  after: z.string().max(100).optional().describe("Start after this session's row: the `next` of the previous page."),
});
export type SessionListParams = z.infer<typeof SessionListParams>;

export const SessionShowParams = z.object({ sessionId: z.string().describe('The session to show, or "legacy".') });
export type SessionShowParams = z.infer<typeof SessionShowParams>;

export const SessionSwitchParams = z.object({ sessionId: z.string().describe('The session to make current.') });
export type SessionSwitchParams = z.infer<typeof SessionSwitchParams>;

export const SessionResolveParams = z.object({
  sessionId: z.string().describe('The session changed in two clones.'),
  keep: z.enum(['ours', 'theirs']).describe("Which version to keep, in git's meaning (ours: this checkout's side of the merge); the other is kept beside it."),
});
export type SessionResolveParams = z.infer<typeof SessionResolveParams>;

// item/*, phase/*, workflow/*

export const ItemCompleteParams = z.object({
  ...sessionSelector,
  itemId: z.string().describe('The checklist item to complete.'),
  notes: z.string().optional().describe('What was done.'),
  skipVerify: z.boolean().optional().describe("Complete without running the item's check (never replaces an approval)."),
});
export type ItemCompleteParams = z.infer<typeof ItemCompleteParams>;

export const ItemSkipParams = z.object({
  ...sessionSelector,
  itemId: z.string().describe('The checklist item to skip.'),
  reason: z.string().describe('Why it is skipped (required).'),
  force: z.boolean().optional().describe('Skip a required item.'),
});
export type ItemSkipParams = z.infer<typeof ItemSkipParams>;

export const ItemApproveParams = z.object({
  ...sessionSelector,
  itemId: z.string().describe('The manual gate to approve.'),
  notes: z.string().optional().describe('A note with the approval.'),
  by: z.string().max(200).optional().describe('Who approves (default: the git user name, else $USER, as the client found it).'),
});
export type ItemApproveParams = z.infer<typeof ItemApproveParams>;

export const PhaseApproveParams = z.object({
  ...sessionSelector,
  phaseId: z.string().optional().describe('The phase whose gate to approve; default the current phase.'),
  by: z.string().max(200).optional().describe('Who approves (default: the git user name, else $USER, as the client found it).'),
});
export type PhaseApproveParams = z.infer<typeof PhaseApproveParams>;

export const PhaseAdvanceParams = z.object({
  ...sessionSelector,
  force: z.boolean().optional().describe('Advance although items are open (over stale evidence only with a reason).'),
  reason: z.string().optional().describe('Why stale evidence is overridden (with force); logged.'),
});
export type PhaseAdvanceParams = z.infer<typeof PhaseAdvanceParams>;

export const WorkflowFinishParams = z.object({
  ...sessionSelector,
  notes: z.string().optional().describe('Closing notes.'),
  force: z.boolean().optional().describe('Finish although items are open (over stale evidence only with a reason).'),
  abandon: z.boolean().optional().describe('Abandon the workflow instead of finishing it (needs reason).'),
  reason: z.string().optional().describe('Why the workflow is abandoned, or (with force) why stale evidence is overridden.'),
});
export type WorkflowFinishParams = z.infer<typeof WorkflowFinishParams>;

// item/verify (evidence)

export const ItemVerifyParams = z.object({
  ...sessionSelector,
  itemIds: z
    .array(z.string())
    .max(1000)
    .optional()
    .describe("Completed items of the current phase whose checks to re-run; default every completed item with a check."),
});
export type ItemVerifyParams = z.infer<typeof ItemVerifyParams>;

// checkpoint/*, log/*, workflow file

export const CheckpointCreateParams = z.object({
  ...sessionSelector,
  message: z.string().optional().describe('What this checkpoint is about.'),
  decisions: z.array(z.string()).optional().describe('Key decisions to record, in order.'),
  files: z
    .array(z.string())
    .optional()
    .describe('Files to record: absolute, or relative to the repo root; each inside the repository.'),
});
export type CheckpointCreateParams = z.infer<typeof CheckpointCreateParams>;

export const CheckpointListParams = z.object({ ...sessionSelector });
export type CheckpointListParams = z.infer<typeof CheckpointListParams>;

export const LogReadParams = z.object({
  ...sessionSelector,
  limit: z.number().int().nonnegative().optional().describe('The last N events; default 20, at most 10000.'),
});
export type LogReadParams = z.infer<typeof LogReadParams>;

export const WorkflowValidateParams = z.object({
  file: z.string().optional().describe('Absolute path inside the repo; default <repo>/workflow.yaml.'),
});
export type WorkflowValidateParams = z.infer<typeof WorkflowValidateParams>;

export const WorkflowInitParams = z.object({
  force: z.boolean().optional().describe('Replace an existing workflow.yaml (kept as a numbered backup).'),
  portable: z.boolean().optional().describe('Also switch the repo to portable mode.'),
});
export type WorkflowInitParams = z.infer<typeof WorkflowInitParams>;

// feedback/*

const feedbackKind = z.enum(['tool', 'process']);

export const FeedbackAddParams = z.object({
  ...sessionSelector,
  text: z.string().describe('The feedback, at most 10000 characters.'),
  kind: feedbackKind.optional().describe('tool (about orch) or process (about the workflow); default process.'),
});
export type FeedbackAddParams = z.infer<typeof FeedbackAddParams>;

export const FeedbackListParams = z.object({
  ...sessionSelector,
  kind: feedbackKind.optional().describe('Only this kind: tool or process.'),
});
export type FeedbackListParams = z.infer<typeof FeedbackListParams>;

// session/subscribe

export const SubscribeParams = z.object({
  sessionId: z.string().optional().describe("Only this session's events (plus daemon and workflow-file events); omitted: every session."),
  roster: z.boolean().optional().describe('Also send roster/didChange when a client connects or disconnects (default false).'),
});
export type SubscribeParams = z.infer<typeof SubscribeParams>;

export const UnsubscribeParams = z.object({ subscriptionId: z.string() });
export type UnsubscribeParams = z.infer<typeof UnsubscribeParams>;

// gate/wait

export const GateWaitParams = z.object({
  ...sessionSelector,
  itemId: z.string().optional().describe('Wait until this manual gate item of the current phase is approved.'),
  phase: z.boolean().optional().describe("Wait until the current phase's human-approval gate is open."),
  phaseId: z.string().max(200).optional().describe('With phase: this phase rather than the current one (a client that asks again after a reconnect pins the phase it began with).'),
  timeoutMs: z
    .number()
    .int()
    .nonnegative()
    .max(24 * 3600 * 1000)
    .optional()
    .describe('Give up after this long and answer `timeout` (default 10 minutes).'),
});
export type GateWaitParams = z.infer<typeof GateWaitParams>;

// roster/*

export const RosterListParams = z.object({});
export type RosterListParams = z.infer<typeof RosterListParams>;

// hook/*

export const HookStopParams = z.object({
  ...sessionSelector,
  agentSessionId: z
    .string()
    .max(200)
    .optional()
    .describe("The agent's own session id (Claude Code's session_id): the last block is remembered per agent session."),
  stopHookActive: z.boolean().optional().describe('True when the agent already continues because an earlier stop was blocked.'),
});
export type HookStopParams = z.infer<typeof HookStopParams>;
