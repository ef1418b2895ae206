/**
 * Who approves, as `orch approve-item` and `orch approve` send it in `by`: `--by NAME`, else the
 * repository's `git config user.name`, else $USER, else the account name. The daemon adds the
 * channel (this client's kind) and pid from the connection's hello.
 */
import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import type { CommandContext } from './command.js';
import { usageError } from './errors.js';

/** How long `git config user.name` may take before orch falls back to $USER. */
const GIT_TIMEOUT_MS = 5000;

function gitUserName(cwd: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['config', 'user.name'], { cwd, env, timeout: GIT_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout) => {
      resolve(err ? null : stdout.trim() || null);
    });
  });
}

function accountName(env: NodeJS.ProcessEnv): string | null {
  if (env.USER) return env.USER;
  try {
    return userInfo().username || null;
  } catch {
    return null;
  }
}

/** The person at this account: the repository's `git config user.name`, else $USER, else the account name. */
export async function personName(root: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return (await gitUserName(root, env)) ?? accountName(env) ?? undefined;
}

/** The approver's name for this command (`undefined` leaves it to the daemon: the account name). */
export async function approverName(ctx: CommandContext): Promise<string | undefined> {
  const given = ctx.values.by as string | undefined;
  if (given !== undefined) {
    if (given.trim() === '') throw usageError('--by takes the name of the person who approves, e.g. --by "Ada Lovelace".');
    return given;
  }
  return personName(ctx.paths().root, ctx.env);
}
