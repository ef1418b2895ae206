/**
 * Turns the raw results of scripts/bench.mjs into rows (figure, target, verdict) and a text table.
 * A row with no target is informative and gets no verdict.
 */

const ms = (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x >= 100 ? `${Math.round(x).toLocaleString('en-US')} ms` : `${x.toFixed(1)} ms`);
const us = (x) => `${Math.round(x).toLocaleString('en-US')} µs`;
const n = (x) => Math.round(x).toLocaleString('en-US');
const verdict = (ok) => (ok ? 'PASS' : 'SHORT');
/** A ratio to 2 decimals, or 3 when 2 would round it onto the other side of its limit. */
const ratioText = (r, limit) => `${(r <= limit) === (Number(r.toFixed(2)) <= limit) ? r.toFixed(2) : r.toFixed(3)}×`;

function row(id, measure, result, target = '', pass = null) {
  return { id, measure, result, target, verdict: pass === null ? '' : verdict(pass) };
}

function statusRows(r) {
  const rows = [];
  if (r.warm) {
    const ratio = r.warm.status.median / r.warm.floor.median;
    rows.push(row('1', `warm orch status (daemon running), median of ${r.warm.status.n}`, `${ms(r.warm.status.median)} = ${ratioText(ratio, 1.15)} node -e 0 (${ms(r.warm.floor.median)})`, '≤ 1.15×', ratio <= 1.15));
    for (const e of r.warm.extra) {
      rows.push(row('1', `  for comparison: ${e.cli.split('/').slice(-3).join('/')} (unbundled)`, `${ms(e.median)} = ${(e.median / r.warm.floor.median).toFixed(2)}×`));
    }
  }
  if (r.cold) {
    const ratio = r.cold.status.median / r.cold.floor.median;
    rows.push(row('2', `cold orch status (starts the daemon), median of ${r.cold.status.n}`, `${ms(r.cold.status.median)} = ${ratioText(ratio, 5)} node -e 0 (${ms(r.cold.floor.median)})`, '≤ 5×', ratio <= 5));
  }
  if (r.persistent) {
    const p = r.persistent;
    rows.push(row('3', `persistent connection: session/status p50 (${n(p.n)} requests)`, us(p.median), '≤ 150 µs', p.median <= 150));
    rows.push(row('3', `persistent connection: session/status p99`, us(p.p99), '≤ 1,000 µs', p.p99 <= 1000));
  }
  return rows;
}

function mutationRows(m) {
  const rows = [];
  const plain = m.plain.perSecond;
  rows.push(row('4', `plain atomic write + fsync + dir fsync, ${n(m.stateBytes / 1024)} KB file, 1 writer`, `${n(plain)} writes/s (8 writers: ${n(m.plainParallel.perSecond)}/s)`));
  for (const l of m.levels) {
    const lost = l.lostState + l.lostLog;
    const share = l.perSecond / plain;
    const target = l.clients === 32 ? '≥ 50% of plain, 0 lost' : '0 lost';
    const pass = lost === 0 && l.errors === 0 && (l.clients !== 32 || share >= 0.5);
    const errors = l.errors ? `, ${l.errors} failed (${l.firstError})` : '';
    rows.push(
      row(
        '4',
        `durable mutations, ${l.clients} client${l.clients === 1 ? '' : 's'} (${l.sessions} sessions of ${m.itemsPerSession} items, ${n(l.ops)} completes)`,
        `${n(l.perSecond)}/s = ${Math.round(share * 100)}% of plain; p50 ${ms(l.latencyMs.median)}; lost ${l.lostState} (state) + ${l.lostLog} (log)${errors}`,
        target,
        pass,
      ),
    );
  }
  return rows;
}

/**
 * The growth law of a cost from 1,000 to 10,000 sessions: the cost above 1 session's, at 10,000
 * over at 1,000 (×10 is linear). A cost above 1 session's within `floor` (noise on this machine, and
 * at least a tenth of the 1-session cost) is taken as that floor, so a cost that does not grow at all is not shown as a huge ratio of two noises.
 */
function growth(sizes, pick, floor) {
  const a = sizes.find((s) => s.sessions === 1000);
  const b = sizes.find((s) => s.sessions === 10000);
  const base = sizes.find((s) => s.sessions === 1);
  if (!a || !b || !base) return null;
  const x = pick(a) - pick(base);
  const y = pick(b) - pick(base);
  if (![x, y].every(Number.isFinite)) return null;
  // The noise floor is at least a tenth of the 1-session cost itself (a 200 ms CLI run varies by 20 ms).
  const f = Math.max(floor, 0.1 * pick(base));
  return Math.max(y, f) / Math.max(x, f);
}

const LINEAR_LIMIT = 12.5;
const growthText = (g) => (g === null ? '—' : `×${g.toFixed(1)} from 1,000 (${g <= LINEAR_LIMIT ? 'linear' : 'more than linear'})`);

/** Noise floors of the growth law (see growth): list 2 ms, first list 5 ms, start 50 ms, RSS 5 MB. */
const GROWTH = {
  list: [(z) => (z.error ? NaN : z.warmListMs.median), 2],
  first: [(z) => (z.error ? NaN : z.firstListMs), 5],
  restartList: [(z) => (z.error ? NaN : z.restartListMs ?? NaN), 5],
  start: [(z) => z.startMs, 50],
  rss: [(z) => z.rssMb, 5],
  cli: [(z) => z.cliMs?.median ?? NaN, 5],
  allList: [(z) => z.allListMs?.median ?? NaN, 2],
  cliAll: [(z) => z.cliAllMs?.median ?? NaN, 5],
};

function sessionRows(s) {
  const rows = [];
  const g = Object.fromEntries(Object.entries(GROWTH).map(([k, [pick, floor]]) => [k, growth(s.sizes, pick, floor)]));
  for (const z of s.sizes) {
    const label = `orch sessions, ${n(z.sessions)} session${z.sessions === 1 ? '' : 's'}`;
    // Each row at 10,000 sessions says how its cost grew from 1,000.
    const law = (k) => (z.sessions === 10000 && g[k] !== null ? `; ${growthText(g[k])}` : '');
    if (z.error) {
      rows.push(row('5', `${label}: list by a new daemon`, z.error, '≤ 100 ms', false));
    } else {
      const worst = Math.max(z.warmListMs.median, z.restartListMs ?? Infinity);
      rows.push(
        row(
          '5',
          `${label}: list by the running daemon (the newest ${z.page}, as orch sessions asks)`,
          `${ms(z.warmListMs.median)} (median of ${z.warmListMs.n})${law('list')}; first after a restart ${ms(z.restartListMs)}${law('restartList')}; first ever ${ms(z.firstListMs)}${law('first')}`,
          '≤ 100 ms',
          worst <= 100,
        ),
      );
    }
    const start = Math.max(z.startMs, z.restartMs ?? 0);
    rows.push(row('5', `${label}: daemon start (spawn → answering)`, `${ms(z.startMs)}; restart ${ms(z.restartMs)}${law('start')}`, '≤ 2,000 ms', start <= 2000));
    rows.push(row('5', `${label}: daemon RSS`, `${z.rssMb?.toFixed(1) ?? '—'} MB (after start: ${z.rssStartMb?.toFixed(1) ?? '—'} MB)${law('rss')}`, '≤ 100 MB', (z.rssMb ?? Infinity) <= 100));
    if (z.cliMs) rows.push(row('5', `${label}: whole CLI orch sessions --json`, `${ms(z.cliMs.median)} (median of ${z.cliMs.n})${law('cli')}`));
    if (z.allListMs) {
      rows.push(
        row(
          '5',
          `${label}: every session (orch sessions --all): list by the running daemon / whole CLI / daemon RSS after it`,
          `${ms(z.allListMs.median)}${law('allList')} / ${ms(z.cliAllMs.median)}${law('cliAll')} / ${z.rssAllMb?.toFixed(1) ?? '—'} MB`,
        ),
      );
    }
  }
  const f = (x) => (x === null ? '—' : `×${x.toFixed(1)}`);
  const laws = [g.list, g.first, g.start, g.rss, g.allList];
  const ok = laws.every((x) => x !== null && x <= LINEAR_LIMIT);
  rows.push(
    row(
      '5',
      'growth of the cost above 1 session, 1,000 → 10,000 sessions',
      `list ${f(g.list)}, first after a restart ${f(g.restartList)}, first ever ${f(g.first)}, start ${f(g.start)}, RSS ${f(g.rss)}, whole CLI ${f(g.cli)}; every session (--all): list ${f(g.allList)}, whole CLI ${f(g.cliAll)}: ${ok ? 'linear' : 'more than linear'}`,
      '≤ ×10 (linear; ×12.5 allows noise)',
      ok,
    ),
  );
  return rows;
}

function notificationRows(x) {
  const a = x.afterAck;
  const missed = x.missed ? `; ${x.missed} never arrived` : '';
  return [
    row(
      '6',
      `notification to a subscriber after the change is on disk, ${a.n} changes`,
      // The daemon notifies before it answers the writer, so this can be below zero: the
      // subscriber heard of the change before the writer had its own reply.
      `median ${ms(a.median)}, worst ${ms(a.max)}${a.median < 0 ? ' (before the writer had its reply)' : ''}${missed} (from sending the change: median ${ms(x.fromSend.median)}, worst ${ms(x.fromSend.max)})`,
      '≤ 20 ms',
      x.missed === 0 && a.max <= 20,
    ),
  ];
}

function hostileRows(h) {
  const kinds = Object.entries(h.opened).map(([k, v]) => `${n(v)} ${k}`).join(', ');
  const closed = Object.entries(h.closedByDaemonWhileHeld).map(([k, v]) => `${k} ${n(v)}`).join(', ');
  const limit = h.fdLimit === null ? '' : `; ulimit -n ${h.fdLimit === Infinity ? 'unlimited' : n(h.fdLimit)}`;
  const total = Object.values(h.opened).reduce((a, b) => a + b, 0);
  const answerMax = Math.max(h.requestMs.max, h.cliMs.max);
  return [
    row(
      '7',
      `daemon RSS under ${n(total)} hostile connections (${kinds}), held ${n(h.holdMs / 1000)} s${limit}`,
      `peak ${h.peakRssMb?.toFixed(1) ?? '—'} MB (before ${h.before.rssMb.toFixed(1)} MB; heap ${h.before.heapUsedMb.toFixed(1)} → ${h.during.heapUsedMb.toFixed(1)} MB); closed by the daemon: ${closed}`,
      '< 200 MB',
      total >= h.requested * 0.99 && (h.peakRssMb ?? Infinity) < 200,
    ),
    row(
      '7',
      '  a normal client meanwhile: request on its connection / whole orch status',
      `worst ${ms(h.requestMs.max)} (median ${ms(h.requestMs.median)}, ${h.requestMs.n} requests) / worst ${ms(h.cliMs.max)} (${h.cliMs.n} runs)${h.failures ? `; ${h.failures} failed` : ''}`,
      '≤ 1,000 ms',
      h.failures === 0 && answerMax <= 1000,
    ),
    row(
      '7',
      '  after they closed',
      `RSS ${h.after.rssMb?.toFixed(1) ?? '—'} MB, heap ${h.after.heapUsedMb.toFixed(1)} MB, client buffers ${(h.after.clientBufferedMb * 1024).toFixed(0)} KB`,
    ),
  ];
}

function wakeRows(w) {
  const failed = w.failures ? `; ${w.failures} failed` : '';
  return [
    row(
      '8',
      `orch wait returning after the approval is on disk (spawned orch wait, approval's reply → process exit), median of ${w.cli.n}`,
      `median ${ms(w.cli.median)}, p90 ${ms(w.cli.p90)}, worst ${ms(w.cli.max)} (from sending the approval: median ${ms(w.cliFromSend.median)})${failed}`,
      '≤ 20 ms',
      w.failures === 0 && w.cli.median <= 20,
    ),
    row('8', `  a library client in gate/wait: approval's reply → its answer, median of ${w.library.n}`, `median ${ms(w.library.median)}, worst ${ms(w.library.max)}${w.library.median < 0 ? ' (answered before the approver had its own reply)' : ''}`),
  ];
}

function whoRows(w) {
  return [
    row(
      '9',
      `whole orch who --json with ${n(w.clients)} clients connected, median of ${w.who.n}`,
      `${ms(w.who.median)} (lists ${n(w.listed)} connections); orch status on the same daemon ${ms(w.status.median)}`,
    ),
  ];
}

function agentRows(a) {
  const hook = (name, x) => {
    const ratio = x.median / a.floor.median;
    return row('10', `whole orch hook ${name} (daemon running), median of ${x.n}`, `${ms(x.median)} = ${ratioText(ratio, 1.3)} node -e 0 (${ms(a.floor.median)})`, '≤ 1.3×', ratio <= 1.3);
  };
  const m = a.mcp;
  return [
    hook('stop', a.stop),
    hook('session-start', a.sessionStart),
    row('10', `MCP tool call over stdio after initialisation (orch_status), p50 of ${n(m.n)}`, `${ms(m.median)} (p99 ${ms(m.p99)}); the same session/status on a plain daemon connection, interleaved: p50 ${ms(m.direct.median)}`, '≤ 5 ms', m.median <= 5),
    row('10', '  MCP tools/list', `${m.tools} tools, ${n(m.listBytes)} bytes; longest description ${m.longestDescription} characters`, '≤ 8 tools, < 6 KB, < 200', m.tools <= 8 && m.listBytes < 6144 && m.longestDescription < 200),
  ];
}

function evidenceRows(e) {
  const rows = [];
  for (const r of e.repos) {
    const label = `evidence fingerprint, ${n(r.files)} files`;
    for (const [kind, m] of [['clean', r.clean], ['100 dirty', r.dirty]]) {
      const same = kind === 'clean' ? (r.cleanEqualsHead ? '; tree = HEAD^{tree}' : '; tree ≠ HEAD^{tree}!') : '';
      const sameTree = m.tree !== null;
      for (const [when, t] of [['first after the index changed', m.first], ['again, private index kept', m.repeat]]) {
        const ratio = t.median / m.status.median;
        rows.push(
          row(
            '11',
            `${label}, ${kind}, ${when} (median of ${t.n})`,
            `${ms(t.median)} = ${ratioText(ratio, 1.5)} git status --porcelain (${ms(m.status.median)})${same}${sameTree ? '' : '; trees differ!'}` +
              (kind === 'clean' && when.startsWith('first') ? ` (repo generated in ${(r.generateMs / 1000).toFixed(1)} s)` : ''),
            '≤ 1.5×',
            ratio <= 1.5 && sameTree && (kind !== 'clean' || r.cleanEqualsHead),
          ),
        );
      }
    }
  }
  const c = e.complete;
  rows.push(
    row(
      '11',
      `orch complete on a command item (\`true\`), small repo, median of ${c.complete.n}`,
      `${ms(c.complete.median)} whole CLI, of which the fingerprint ${ms(c.fingerprint.median)} (as recorded in the evidence)`,
    ),
  );
  return rows;
}

function dashboardRows(d) {
  if (d.skipped) return [row('12', 'orch ui: change on disk → the page shows it', `skipped: ${d.skipped}`, '≤ 100 ms', false)];
  const a = d.afterReply;
  return [
    row(
      '12',
      `orch ui: change on disk → the page's DOM shows it (a library client's item/complete reply → MutationObserver in headless Chromium), median of ${a.n}`,
      `median ${ms(a.median)}, p90 ${ms(a.p90)}, worst ${ms(a.max)} (from sending the change: median ${ms(d.fromSend.median)})`,
      '≤ 100 ms',
      a.median <= 100,
    ),
    row('12', `  orch ui server RSS with ${d.pages} pages open (live)`, `${d.rssPages.toFixed(1)} MB (1 page: ${d.rssOnePage.toFixed(1)} MB)`),
  ];
}

export function buildRows(r) {
  return [
    ...statusRows(r),
    ...(r.mutations ? mutationRows(r.mutations) : []),
    ...(r.sessions ? sessionRows(r.sessions) : []),
    ...(r.notifications ? notificationRows(r.notifications) : []),
    ...(r.hostile ? hostileRows(r.hostile) : []),
    ...(r.wake ? wakeRows(r.wake) : []),
    ...(r.who ? whoRows(r.who) : []),
    ...(r.agents ? agentRows(r.agents) : []),
    ...(r.evidence ? evidenceRows(r.evidence) : []),
    ...(r.dashboard ? dashboardRows(r.dashboard) : []),
  ];
}

/** A Markdown table (it reads as plain text too, and pastes into the README as is). */
export function formatTable(report) {
  const head = ['#', 'Measure', 'Result', 'Target', 'Verdict'];
  const lines = [head, head.map(() => '---'), ...report.rows.map((r) => [r.id, r.measure, r.result, r.target, r.verdict])];
  const table = lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const m = report.machine;
  const load = report.loadAverage.before.map((x) => x.toFixed(2)).join(' ');
  const unset = m.unset ? `; ${m.unset} unset for every process timed (each Node start would parse its file)` : '';
  return `${table}\n\nNode ${m.node}, ${m.platform}, ${m.cpus} × ${m.cpu}; load average before: ${load}; ${report.mode} run, ${report.durationS.toFixed(0)} s; client ${report.cli}${unset}`;
}
