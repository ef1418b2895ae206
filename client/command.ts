/**
 * What every command module exports, and the context it runs with. Commands are loaded lazily by
 * cli.ts, so `orch status` never loads the code of `orch start`.
 */
import type { ParseArgsConfig } from 'node:util';
import type { MessageConnection } from 'vscode-jsonrpc/node.js';
import type { RequestConnection } from './connect.js';
import type { RepoPaths } from '../protocol/node/paths.js';
import type { ClientKind } from '../protocol/params.js';
import type { Output } from './output.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  name: string;
  /** One line for `orch --help`. */
  summary: string;
  /** Full help text for `orch <command> --help`. */
  help: string;
  options: OptionSpec;
  /** The kind this command says it is in its hello (default `cli`). */
  clientKind?: ClientKind;
  run(ctx: CommandContext): Promise<number>;
}

export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  out: Output;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Repository paths (the root is found on first use). */
  paths(): RepoPaths;
  /**
   * A connection to the daemon, starting it when none runs. `readOnly: true` (status, sessions,
   * log, checkpoints): where `.orchestrator/` cannot be written, the files are read in-process
   * instead, writing nothing, with a warning saying so.
   */
  connect(opts?: { readOnly?: boolean }): Promise<MessageConnection>;
  /**
   * The same for a command that only sends requests (`requestsOnly: true`): a running daemon that
   * says hello is reached over a lighter connection (see RequestConnection in connect.ts); anything
   * else takes the path above.
   */
  connect(opts: { readOnly?: boolean; requestsOnly: true }): Promise<RequestConnection>;
  /** A connection only if a daemon already runs. */
  connectIfRunning(): Promise<MessageConnection | null>;
  /** `--session`, else `ORCH_SESSION`, else undefined (the repo's `current`). */
  sessionId(): string | undefined;
  /** Closes the daemon connection, if one was opened. */
  close(): void;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: OptionSpec = {
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  session: { type: 'string' },
  root: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export const GLOBAL_HELP = `Global options (before or after the command):
  --json             print exactly one JSON document on stdout
  -q, --quiet        print no status block after a change
  --session <id>     act on this session (default: $ORCH_SESSION, else the repo's current session)
  --root <dir>       the repository root (default: $ORCH_ROOT, else found by walking up to .git or
                     workflow.yaml; outside any repository orch refuses unless --root is given)
  -h, --help         show help`;
