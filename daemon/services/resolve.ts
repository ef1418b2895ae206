/**
 * `session/resolve`: one session changed in two clones (portable mode) becomes one again. The
 * chosen version's state is kept (saved afresh, with a `conflict_resolved` event), the other
 * version's files are written beside the session's own (`state.json.theirs-<time>`, …), so
 * nothing is lost; the user then commits the session with git.
 *
 * The two versions come, best first, from the copies git keeps of an unmerged file (exact), from
 * the conflict markers in state.json, or from the commit being merged in. The log is split
 * back into the two versions' logs when each state's record of its log (session-conflict.ts)
 * says where; when it cannot be, the log keeps both versions' events and the result says so.
 */
import { rm } from 'node:fs/promises';
import { relative } from 'node:path';
import type { SessionResolveParams, SessionResolveResult } from '../../protocol/session.js';
import { readFileNoFollow } from '../../protocol/node/safe-fs.js';
import type { DaemonContext } from '../context.js';
import { parseStateFile } from '../engine/checksum.js';
import { summarizeForList } from '../engine/status-view.js';
import { utcZ } from '../engine/time.js';
import type { LogEvent, WorkflowState } from '../engine/types.js';
import { OrchError } from '../errors.js';
import { writeDurable } from '../store/durable-write.js';
import { mergeHeadVersion, unmergedVersions } from '../store/git-dir.js';
import { checkLog, lastLineHash, splitConflict, syncRecordOf, type SyncRecord } from '../store/session-conflict.js';
import { commit } from './commit.js';

type Side = 'ours' | 'theirs';

interface Versions {
  ours: string | null;
  theirs: string | null;
}

/** `20261203T153652Z`: sortable, no `:`, and no `.<digit>` (which the portable .gitignore ignores as a temp file). */
function stamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFileNoFollow(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** A file's two versions from git's unmerged copies, else from its conflict markers; null when it has neither. */
async function twoVersions(root: string, path: string, text: string | null): Promise<{ v: Versions; from: 'git' | 'markers' } | null> {
  const staged = await unmergedVersions(root, path);
  if (staged && (staged.ours !== null || staged.theirs !== null)) return { v: staged, from: 'git' };
  const sides = text === null ? null : splitConflict(text);
  return sides ? { v: sides, from: 'markers' } : null;
}

function parsesAs(text: string | null, label: string): WorkflowState | null {
  if (text === null) return null;
  try {
    return parseStateFile(text, label).state;
  } catch {
    return null;
  }
}

function matches(log: Buffer, rec: SyncRecord | null): boolean {
  return rec !== null && log.length === rec.log_bytes && lastLineHash(log) === rec.log_tail;
}

/**
 * The kept version's log and what to set beside it. A union merge leaves the common part, then
 * one side's lines, then the other's; each state's record (length, last line) says where to cut.
 */
function splitLog(log: Buffer, keep: Side, recs: Record<Side, SyncRecord | null>, logVersions: Versions | null): { kept: Buffer; aside: Buffer | null; whole: boolean } {
  const other: Side = keep === 'ours' ? 'theirs' : 'ours';
  if (logVersions && logVersions[keep] !== null) {
    return { kept: Buffer.from(logVersions[keep]!), aside: logVersions[other] === null ? null : Buffer.from(logVersions[other]!), whole: true };
  }
  const a = recs.ours;
  const b = recs.theirs;
  if (a && b) {
    const base = a.log_bytes + b.log_bytes - log.length;
    for (const [first, second] of [['ours', 'theirs'], ['theirs', 'ours']] as [Side, Side][]) {
      const r1 = recs[first]!;
      const r2 = recs[second]!;
      if (base < 0 || base > Math.min(r1.log_bytes, r2.log_bytes) || r1.log_bytes > log.length) continue;
      const one = log.subarray(0, r1.log_bytes);
      const two = Buffer.concat([log.subarray(0, base), log.subarray(r1.log_bytes)]);
      if (matches(one, r1) && matches(two, r2)) {
        const byside = { [first]: one, [second]: two } as Record<Side, Buffer>;
        return { kept: byside[keep], aside: byside[other], whole: true };
      }
    }
  }
  const mine = recs[keep];
  if (mine && mine.log_bytes <= log.length && matches(log.subarray(0, mine.log_bytes), mine)) {
    const rest = log.subarray(mine.log_bytes);
    return { kept: log.subarray(0, mine.log_bytes), aside: rest.length > 0 ? rest : null, whole: false };
  }
  return { kept: log, aside: null, whole: false };
}

export async function resolveConflict(ctx: DaemonContext, p: SessionResolveParams): Promise<SessionResolveResult> {
  const id = p.sessionId;
  const keep = p.keep;
  const other: Side = keep === 'ours' ? 'theirs' : 'ours';
  if (!(await ctx.store.exists(id))) {
    throw new OrchError('SessionNotFound', `There is no session ${id} in this repository; orch sessions lists them.`, { sessionId: id });
  }
  const root = ctx.paths.root;
  const rel = (f: string) => relative(root, f);
  return ctx.locks.runExclusive(id, async () => {
    const sp = ctx.store.pathsFor(id);
    const label = rel(sp.state);
    const onDisk = await ctx.store.readStateText(id);
    let versions: Versions;
    let from: SessionResolveResult['from'];
    const two = await twoVersions(root, sp.state, onDisk);
    if (two) {
      versions = two.v;
      from = two.from;
    } else {
      if (onDisk === null) {
        throw new OrchError('NoActiveWorkflow', `Session ${id} has no state.json, so there is nothing to resolve.`, { sessionId: id });
      }
      const state = parseStateFile(onDisk, label).state;
      if ((await checkLog(sp, state)) === null) {
        throw new OrchError('InvalidTransition', `Session ${id} has no conflict to resolve: ${label} has no conflict markers and agrees with its log.`, { sessionId: id });
      }
      const merging = await mergeHeadVersion(root, sp.state);
      versions = { ours: onDisk, theirs: merging };
      from = merging !== null ? 'merge-head' : 'file';
    }
    const keptText = versions[keep];
    if (keptText === null) {
      const why =
        from === 'file'
          ? 'only this checkout\'s state is on disk (the other version\'s events are in its log, and git no longer holds the merge)'
          : `git holds no ${keep} version of it (the session was added or deleted on that side)`;
      throw new OrchError('InvalidArgument', `There is no ${keep} version of ${label} to keep: ${why}; keep ${other} with orch sessions resolve ${id} --keep ${other}.`, {
        sessionId: id,
      });
    }
    const kept = parseStateFile(keptText, `${label} (${keep})`);
    const def = kept.state.workflow_definition;
    if (!def) throw new OrchError('StateCorrupt', `The ${keep} version of ${label} has no workflow_definition; keep ${other} instead.`, { sessionId: id });
    const otherState = parsesAs(versions[other], `${label} (${other})`);
    const recs = { [keep]: syncRecordOf(kept.state), [other]: otherState ? syncRecordOf(otherState) : null } as Record<Side, SyncRecord | null>;

    const logText = await readOrNull(sp.log);
    const log = Buffer.from(logText ?? '', 'utf8');
    const logTwo = await twoVersions(root, sp.log, logText);
    const split = splitLog(log, keep, recs, logTwo?.v ?? null);

    const metaText = await readOrNull(sp.meta);
    const metaTwo = await twoVersions(root, sp.meta, metaText);

    const when = stamp();
    const aside: string[] = [];
    const put = async (path: string, data: string | Buffer) => {
      await writeDurable(path, data);
      aside.push(rel(path));
    };
    // The other version first: once it is safe beside the session, the session's files change.
    if (versions[other] !== null) await put(`${sp.state}.${other}-${when}`, versions[other]!);
    if (split.aside !== null) await put(`${sp.log}.${other}-${when}`, split.aside);
    if (metaTwo && metaTwo.v[other] !== null) await put(`${sp.meta}.${other}-${when}`, metaTwo.v[other]!);

    if (!split.kept.equals(log)) await writeDurable(sp.log, split.kept);
    if (metaTwo) {
      const keptMeta = metaTwo.v[keep];
      let usable = false;
      try {
        usable = keptMeta !== null && typeof JSON.parse(keptMeta) === 'object';
      } catch {
        usable = false;
      }
      await writeDurable(sp.meta, usable ? keptMeta! : JSON.stringify({ session_id: id, created_at: kept.state.created_at, repo_root: '.' }, null, 2));
    }
    // The crash bookkeeping of this checkout's last change no longer describes this log.
    await rm(sp.pending, { force: true });
    ctx.reconciled.add(id);

    const warnings: string[] = [];
    if (!split.whole && split.aside === null && (logTwo === null)) {
      warnings.push(`${rel(sp.log)} keeps the events of both versions: orch could not tell them apart (the ${other} version has no record of its log).`);
    } else if (!split.whole && split.aside !== null) {
      warnings.push(`${rel(sp.log)} was cut back to the ${keep} version's events; the lines after them are in ${rel(`${sp.log}.${other}-${when}`)}.`);
    }
    const event: LogEvent = {
      timestamp: utcZ(),
      event_type: 'conflict_resolved',
      workflow_id: kept.state.workflow_id,
      phase_id: kept.state.current_phase_id,
      item_id: null,
      message: `Kept the ${keep} version of a session changed in two clones; the ${other} version is beside it`,
      details: { kept: keep, from, kept_aside: aside },
      actor: 'system',
    };
    const saved = await commit(ctx, id, def, kept.state, [event]);
    ctx.log.info({ session: id, kept: keep, from, aside }, 'session conflict resolved');
    const s = summarizeForList(saved);
    return {
      sessionId: id,
      kept: keep,
      from,
      keptAside: aside,
      phase: s.phase,
      progress: s.progress,
      warnings,
      nextAction: `git add ${rel(sp.dir)} && git commit`,
    };
  });
}
