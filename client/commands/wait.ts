import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node.js';
import { ExitCode, REQUEST_CANCELLED } from '../../protocol/errors.js';
import { GateWaitRequest, type GateWaitResult } from '../../protocol/gates.js';
import { SessionStatusRequest } from '../../protocol/session.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { echo, usageError } from '../errors.js';
import { applyToStatus, selectorsOf, withSelectors } from '../next-action.js';
import { renderStatus } from '../render-status.js';

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
/** The protocol's cap (params.ts). */
const MAX_TIMEOUT_MS = 24 * 3600 * 1000;
/** After Ctrl-C, how long the daemon gets to confirm the cancellation before orch leaves anyway. */
const CANCEL_GRACE_MS = 1000;
/** Reconnecting after the daemon went away (a restart): at most this many tries, backing off. */
const MAX_RECONNECTS = 50;
/** Without a daemon the wait cannot block inside the lock holder: it looks again this often at most. */
const RECHECK_MAX_MS = 1000;

/** `10m`, `30s`, `1h`, `500ms`, or plain seconds (`90`), in milliseconds. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
  return Number.isFinite(ms) ? ms : null;
}

/** True for errors that mean the connection went away (a daemon restart), not a refusal. */
function connectionLost(err: unknown): boolean {
  if (err instanceof ResponseError) {
    const name = (err.data as { name?: unknown } | undefined)?.name;
    if (name === 'ShuttingDown' || name === 'DaemonUnavailable') return true;
    // vscode-jsonrpc: pending responses rejected because the connection closed or was disposed.
    return err.code === -32097 || err.code === -32096 || /connection (got )?(closed|disposed)/i.test(err.message);
  }
  const e = err as { errorName?: unknown; message?: unknown } | null;
  if (e && e.errorName === 'DaemonUnavailable') return true;
  return /Connection (is )?(closed|disposed)|ECONNRESET|EPIPE|ECONNREFUSED|ENOENT/i.test(String(e?.message ?? err));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Plan {
  itemId?: string;
  phase?: true;
  timeoutMs: number;
  /** The command to run again after a timeout (the same flags). */
  again: string;
}

function planOf(ctx: CommandContext): Plan {
  const item = ctx.values.item as string | undefined;
  const phase = ctx.values.phase === true;
  if (ctx.positionals.length > 0) throw usageError(`orch wait takes no positional arguments (got ${echo(ctx.positionals[0]!)}); use --item <id> or --phase.`);
  if ((item === undefined) === !phase) {
    throw usageError('orch wait needs exactly one of --item <id> (a manual gate item) or --phase (the current phase’s approval), e.g. orch wait --item plan_approval.');
  }
  if (item !== undefined && item.trim() === '') throw usageError('--item needs an item id, e.g. --item plan_approval.');
  const raw = ctx.values.timeout as string | undefined;
  const timeoutMs = raw === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(raw);
  if (timeoutMs === null || timeoutMs > MAX_TIMEOUT_MS) {
    throw usageError(`--timeout ${echo(raw ?? '')} is not a duration of at most 24h; write e.g. 30s, 10m, 1h, or plain seconds.`);
  }
  const again = `orch wait ${item !== undefined ? `--item ${item}` : '--phase'}${raw !== undefined ? ` --timeout ${raw}` : ''}`;
  return { ...(item !== undefined ? { itemId: item } : { phase: true as const }), timeoutMs, again };
}

/**
 * Asks the daemon until the gate opens or the deadline passes. A lost connection (a daemon
 * restart) reconnects and asks again with the time that is left; without a daemon, the answer
 * comes at once and orch asks again after a pause, holding no lock in between.
 */
async function waitLoop(ctx: CommandContext, plan: Plan, cancel: CancellationTokenSource): Promise<GateWaitResult | 'cancelled'> {
  let sessionId = ctx.sessionId();
  let phaseId: string | undefined;
  let pinned = false;
  const deadline = Date.now() + plan.timeoutMs;
  let reconnects = 0;
  let pause = 50;
  for (;;) {
    if (cancel.token.isCancellationRequested) return 'cancelled';
    const timeoutMs = Math.max(0, deadline - Date.now());
    try {
      const conn = await ctx.connect();
      if (!pinned) {
        // Asking again after a restart must mean the same session and phase, even if `current`
        // changed or the phase advanced meanwhile: pin them now.
        const status = await conn.sendRequest(SessionStatusRequest, { sessionId });
        if ('workflowId' in status) {
          sessionId = status.sessionId ?? sessionId;
          if (plan.phase) phaseId = status.phase;
        }
        pinned = true;
      }
      if (cancel.token.isCancellationRequested) return 'cancelled';
      const params = { sessionId, itemId: plan.itemId, phase: plan.phase, phaseId, timeoutMs };
      const result = await conn.sendRequest(GateWaitRequest, params, cancel.token);
      if (result.outcome !== 'timeout' || Date.now() >= deadline - 5) return result;
      // Answered before the deadline without the gate open: no daemon to wait in (see gate-wait.ts).
    } catch (err) {
      if (cancel.token.isCancellationRequested) return 'cancelled';
      if (err instanceof ResponseError && err.code === REQUEST_CANCELLED) return 'cancelled';
      if (!connectionLost(err) || ++reconnects > MAX_RECONNECTS) throw err;
    }
    ctx.close();
    await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
    pause = Math.min(pause * 2, RECHECK_MAX_MS);
  }
}

function describeOpen(result: GateWaitResult): string {
  const what = result.itemId ?? `the ${result.status.phase} phase's approval`;
  const by = result.approvedBy ? ` by ${result.approvedBy.by} (${result.approvedBy.channel})` : '';
  if (result.itemId !== null) {
    const item = result.status.items.find((i) => i.id === result.itemId);
    if (item?.status === 'skipped') return `✓ ${what} was skipped; nothing to wait for.`;
    return `✓ ${what} is approved${by}.`;
  }
  return `✓ ${what} is given${by}.`;
}

async function run(ctx: CommandContext): Promise<number> {
  const plan = planOf(ctx);
  const cancel = new CancellationTokenSource();
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    cancel.cancel();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let result: GateWaitResult | 'cancelled';
  try {
    const waited = waitLoop(ctx, plan, cancel);
    // After Ctrl-C the daemon confirms the cancellation; orch does not wait long for it.
    const gaveUp = new Promise<'cancelled'>((resolve) => {
      const d = cancel.token.onCancellationRequested(() => {
        d.dispose();
        setTimeout(() => resolve('cancelled'), CANCEL_GRACE_MS).unref();
      });
    });
    result = await Promise.race([waited, gaveUp]);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (result === 'cancelled' || interrupted) {
    // Whatever was still in flight (a connection being opened) must not keep the process alive.
    setTimeout(() => process.exit(ExitCode.Interrupted), 2000).unref();
    ctx.out.document({ outcome: 'cancelled' });
    ctx.out.warn('orch wait was interrupted; nothing was changed.');
    return ExitCode.Interrupted;
  }
  const sel = selectorsOf(ctx);
  applyToStatus(result.status, sel);
  if (result.outcome === 'timeout') result.status.nextAction = withSelectors(plan.again, sel);
  ctx.out.document({ ...result, nextAction: result.status.nextAction });
  const target = result.itemId ?? `the ${result.status.phase} phase's approval`;
  const lines: Record<GateWaitResult['outcome'], string> = {
    open: describeOpen(result),
    timeout: `Still waiting: ${target} is not approved yet; run the NEXT_ACTION again to keep waiting.`,
    abandoned: `✗ The workflow was abandoned, so ${target} will not be approved.`,
    failed: `✗ ${target} failed or can no longer be approved (the workflow is ${result.status.status}).`,
  };
  ctx.out.text(lines[result.outcome]);
  if (!ctx.out.quiet) ctx.out.text('\n' + renderStatus(result.status));
  return result.outcome === 'open' ? ExitCode.Ok : result.outcome === 'timeout' ? ExitCode.StillWaiting : ExitCode.Refused;
}

export const command: CommandSpec = {
  name: 'wait',
  summary: 'wait until a person approves a gate (exit 0), or the timeout passes (exit 4)',
  help: `Usage: orch wait --item <id> [--timeout 10m]
       orch wait --phase [--timeout 10m]

Blocks until a person approves the manual gate item <id> (orch approve-item <id>), or with
--phase until the current phase's approval gate opens (orch approve). It returns the moment the
daemon records the approval (it is woken by the change itself, it does not poll), and at once when
the gate is open already. It keeps waiting across a daemon restart. Ctrl-C stops it (exit 130).

  --item <id>        the manual gate item to wait for
  --phase            the current phase's human-approval gate instead
  --timeout <time>   give up after this long: 30s, 10m, 1h, or plain seconds (default 10m, at most 24h)

Exit codes: 0 the gate is open (approved, or the item was skipped); 4 the timeout passed and the
gate is still closed: the status block's NEXT_ACTION is this same command, so run it again;
1 the workflow was abandoned, or the item failed or can no longer be approved.

Examples:
  orch wait --item plan_approval
  orch wait --phase --timeout 30m --json`,
  options: {
    item: { type: 'string' },
    phase: { type: 'boolean' },
    timeout: { type: 'string' },
  },
  run,
};
