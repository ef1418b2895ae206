/**
 * `orch hook install claude [--local] [--print]`: orch's SessionStart and Stop hooks in Claude
 * Code's project settings. Every other key and every other hook is kept; orch's own entries from an
 * earlier install are replaced, so installing twice changes nothing.
 */
import { join } from 'node:path';
import type { CommandContext } from '../command.js';
import { usageError } from '../errors.js';
import { isObject, orchLaunch, readJsonObject, shellWord, writeJsonAtomic, type JsonObject } from '../settings-file.js';

/** The matcher that brings the context back after a new session, a resume, /clear and compaction. */
export const SESSION_START_MATCHER = 'startup|resume|clear|compact';

/** True for a hook command orch installed (`… orch… hook stop`). */
function isOrchCommand(command: unknown, sub: string): boolean {
  return typeof command === 'string' && /orch/.test(command) && command.trimEnd().endsWith(` hook ${sub}`);
}

/** `groups` (a hook event's list) without orch's entries for `sub`, plus orch's entry. */
function mergeEvent(groups: unknown, sub: string, entry: JsonObject): unknown[] {
  const kept: unknown[] = [];
  for (const group of Array.isArray(groups) ? groups : []) {
    if (!isObject(group) || !Array.isArray(group.hooks)) {
      kept.push(group);
      continue;
    }
    const others = group.hooks.filter((h) => !(isObject(h) && isOrchCommand(h.command, sub)));
    if (others.length > 0) kept.push(others.length === group.hooks.length ? group : { ...group, hooks: others });
  }
  return [...kept, entry];
}

/** `settings` with orch's hooks merged in. */
export function mergeHooks(settings: JsonObject, launch: { node: string; orch: string }): JsonObject {
  const base = `${shellWord(launch.node)} ${shellWord(launch.orch)} hook`;
  const hooks = isObject(settings.hooks) ? settings.hooks : {};
  return {
    ...settings,
    hooks: {
      ...hooks,
      SessionStart: mergeEvent(hooks.SessionStart, 'session-start', {
        matcher: SESSION_START_MATCHER,
        hooks: [{ type: 'command', command: `${base} session-start`, timeout: 30 }],
      }),
      Stop: mergeEvent(hooks.Stop, 'stop', { hooks: [{ type: 'command', command: `${base} stop`, timeout: 30 }] }),
    },
  };
}

export async function install(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length !== 1 || args[0] !== 'claude') {
    throw usageError('orch hook install takes the agent to install for: claude (Claude Code), e.g. orch hook install claude.');
  }
  const root = ctx.paths().root;
  const file = join(root, '.claude', ctx.values.local === true ? 'settings.local.json' : 'settings.json');
  const merged = mergeHooks(readJsonObject(file, root), orchLaunch());
  if (ctx.values.print === true) {
    ctx.out.io.stdout(JSON.stringify(merged, null, 2) + '\n');
    return 0;
  }
  writeJsonAtomic(file, merged);
  ctx.out.document({ file, written: true, settings: merged });
  ctx.out.text(`✓ Added orch's SessionStart and Stop hooks to ${file} (other settings kept).\nClaude Code reads hooks when a session starts: start a new one (or run /hooks) to use them.`);
  return 0;
}
