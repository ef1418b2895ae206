/**
 * The dashboard page's script (bundled for the browser by scripts/bundle.mjs). It renders the
 * snapshots the server streams over `/events` (Server-Sent Events), fetches one session's log and
 * checkpoints from `/api/session/<id>`, and POSTs approvals to `/api/approve`. Text from the
 * repository is only ever set with textContent, never parsed as HTML.
 */
import type { ApproveAnswer, ApproveBody, SessionDetail, SessionRow, Snapshot, WaitingGate } from '../api.js';
import type { ChecklistItem, WorkflowStatusView } from '../../../protocol/session.js';

const MARKS: Record<string, string> = { completed: '✓', skipped: '⊘', in_progress: '●', failed: '✗', blocked: '✗', pending: '○' };

type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

function $(id: string): HTMLElement {
  return document.getElementById(id)!;
}

function shortTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

function time(iso: string | null | undefined): HTMLElement {
  return h('time', { datetime: iso ?? undefined }, shortTime(iso));
}

function progressBar(done: number, total: number): HTMLElement {
  const pct = total === 0 ? 0 : Math.round((done / total) * 100);
  const bar = h('span', { class: 'bar', role: 'img', 'aria-label': `${done} of ${total} done` }, h('span', { style: undefined }));
  (bar.firstChild as HTMLElement).style.width = `${pct}%`;
  return h('span', {}, bar, `${done}/${total}`);
}

let snap: Snapshot | null = null;
let selected: string | null = null;
let detailFor: { id: string; updatedAt: string | null } | null = null;
let detail: SessionDetail | null = null;
let lastDaemonNote: string | null = null;
let bannerTimer: ReturnType<typeof setTimeout> | undefined;
let streamBanner = false;

function showBanner(text: string | null, forMs?: number): void {
  const el = $('banner');
  clearTimeout(bannerTimer);
  el.textContent = text ?? '';
  el.hidden = text === null;
  if (text !== null && forMs !== undefined) bannerTimer = setTimeout(() => showBanner(null), forMs);
}

function gateKey(g: WaitingGate): string {
  return `${g.sessionId}/${g.kind}/${g.id}`;
}

async function approve(g: WaitingGate, li: HTMLElement): Promise<void> {
  const button = li.querySelector('button')!;
  const input = li.querySelector('input');
  const result = li.querySelector('.result')!;
  button.disabled = true;
  result.className = 'result';
  result.textContent = 'Approving…';
  const body: ApproveBody = { sessionId: g.sessionId, kind: g.kind, id: g.id, ...(input && input.value.trim() ? { note: input.value } : {}) };
  try {
    const res = await fetch('/api/approve', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' });
    const answer = (await res.json().catch(() => ({ ok: false, message: `HTTP ${res.status}` }))) as ApproveAnswer;
    result.textContent = answer.ok ? `✓ ${answer.message}` : answer.message;
    if (!answer.ok) result.className = 'result bad';
  } catch (err) {
    result.textContent = `Could not reach orch ui: ${String(err)}`;
    result.className = 'result bad';
  } finally {
    button.disabled = false;
  }
}

function gateItem(g: WaitingGate): HTMLElement {
  const label = g.kind === 'item' ? `Sign off “${g.name}”` : `Approve phase ${g.phase} (${g.name})`;
  const noteId = `note-${gateKey(g).replace(/[^A-Za-z0-9_-]/g, '-')}`;
  const form = h(
    'form',
    { 'aria-label': label },
    g.kind === 'item' ? h('input', { type: 'text', id: noteId, name: 'note', maxlength: '2000', placeholder: 'Note (optional)', 'aria-label': `Note for ${g.name}` }) : null,
    h('button', { type: 'submit' }, 'Approve'),
  );
  const li = h(
    'li',
    { class: 'gate', 'data-gate': gateKey(g) },
    h('div', { class: 'what' }, h('strong', {}, label), h('span', { class: 'task' }, `${g.task} · session ${g.sessionId} · `, h('code', {}, g.command))),
    form,
    h('p', { class: 'result', 'aria-live': 'polite' }),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void approve(g, li);
  });
  return li;
}

/** Updates the list in place: gates that stay keep their element (and a note being typed). */
function renderWaiting(gates: WaitingGate[]): void {
  const list = $('waiting');
  const keep = new Map<string, HTMLElement>();
  for (const li of Array.from(list.children) as HTMLElement[]) keep.set(li.dataset.gate ?? '', li);
  const wanted = gates.map((g) => keep.get(gateKey(g)) ?? gateItem(g));
  for (const [key, li] of keep) if (!gates.some((g) => gateKey(g) === key)) li.remove();
  wanted.forEach((li, i) => {
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
  });
  $('waiting-count').textContent = gates.length ? String(gates.length) : '';
  if (gates.length === 0 && !list.querySelector('.empty')) list.append(h('li', { class: 'empty', 'data-gate': '' }, 'Nothing waits for you.'));
  else if (gates.length > 0) list.querySelector('.empty')?.remove();
}

function sessionRow(s: SessionRow): HTMLElement {
  const link = h('a', { href: `#session=${s.sessionId}`, 'data-link': s.sessionId }, s.task ?? s.sessionId);
  const status = h('td', {}, h('span', { class: `badge ${s.status}` }, s.status), s.waiting ? h('span', { class: 'badge waiting' }, 'waiting for you') : null, s.current ? h('span', { class: 'badge current', title: 'the repository’s current session' }, 'current') : null);
  return h(
    'tr',
    { 'data-session': s.sessionId, 'data-status': s.status, 'aria-current': s.sessionId === selected ? 'true' : undefined },
    h('td', {}, link, h('span', { class: 'sub' }, s.sessionId), s.error ? h('span', { class: 'sub' }, s.error) : null),
    status,
    h('td', {}, s.phaseName ?? s.phase ?? '—'),
    h('td', {}, s.progress ? progressBar(s.progress.completed, s.progress.total) : '—'),
    h('td', {}, s.clients.length ? s.clients.join(', ') : '—'),
    h('td', {}, time(s.createdAt)),
  );
}

function renderSessions(rows: SessionRow[]): void {
  const body = document.querySelector('#sessions tbody')!;
  const focused = (document.activeElement as HTMLElement | null)?.dataset?.link;
  body.replaceChildren(...rows.map(sessionRow));
  if (focused) (body.querySelector(`[data-link="${CSS.escape(focused)}"]`) as HTMLElement | null)?.focus();
  $('no-sessions').hidden = rows.length > 0;
}

function itemLine(item: ChecklistItem): HTMLElement {
  const subs: Child[] = [];
  if (item.approvedBy) subs.push(h('span', { class: 'sub' }, `approved by ${item.approvedBy.by} (${item.approvedBy.channel})`));
  if (item.status === 'skipped' && item.skipReason) subs.push(h('span', { class: 'sub' }, `skipped: ${item.skipReason}`));
  if (item.notes) subs.push(h('span', { class: 'sub' }, item.notes));
  if (item.evidence?.fresh === false) subs.push(h('span', { class: 'sub' }, `evidence stale: orch verify ${item.id}`));
  if (item.verification === 'manual_gate' && item.status !== 'completed') subs.push(h('span', { class: 'sub' }, 'a person signs this off'));
  return h(
    'li',
    { 'data-item': item.id, 'data-status': item.status },
    h('span', { class: `mark ${item.status}`, 'aria-label': item.status, title: item.status }, MARKS[item.status] ?? '○'),
    h('span', {}, h('code', {}, item.id), item.required ? ' * ' : ' ', item.name, ...subs),
  );
}

function statusBlock(v: WorkflowStatusView): HTMLElement[] {
  const at = v.phases.findIndex((p) => p.id === v.phase) + 1;
  const out: HTMLElement[] = [
    h('p', { class: 'sub' }, `Session ${v.sessionId ?? '(legacy)'} · ${v.workflowName} · ${v.status} · phase ${at}/${v.phases.length} · updated `, time(v.updatedAt)),
    h('ol', { class: 'phases', 'aria-label': 'Phases' }, ...v.phases.map((p) => h('li', { class: p.id === v.phase ? 'now' : p.status, 'aria-current': p.id === v.phase ? 'step' : undefined }, `${p.id} · ${p.status}`))),
    h('h3', {}, `Checklist — ${v.phase} ${v.phaseName} (${v.phaseProgress.completed}/${v.phaseProgress.total}${v.phaseProgress.skipped ? `, ${v.phaseProgress.skipped} skipped` : ''}; ${v.progress.completed}/${v.progress.total} overall)`),
    h('ul', { class: 'checklist' }, ...v.items.map(itemLine)),
  ];
  if (v.phaseApprovedBy) out.push(h('p', {}, `Phase ${v.phase} approved by ${v.phaseApprovedBy.by} (${v.phaseApprovedBy.channel})`));
  if (v.blockers.length) out.push(h('p', {}, `Blockers: ${v.blockers.join(', ')}`));
  if (v.waitingForPerson) out.push(h('p', {}, h('strong', {}, 'Waiting for a person: '), h('code', {}, v.waitingForPerson)));
  out.push(h('p', { class: 'next' }, 'NEXT_ACTION: ', h('code', {}, v.nextAction)));
  return out;
}

function renderDetail(): void {
  const body = $('detail-body');
  const title = $('detail-title');
  if (selected === null || snap === null) {
    title.textContent = 'Session';
    body.replaceChildren(h('p', { class: 'empty' }, 'Select a session.'));
    return;
  }
  const view = snap.statuses[selected] ?? (detail && detailFor?.id === selected ? detail.status : null);
  const row = snap.sessions.find((s) => s.sessionId === selected);
  title.textContent = view?.task ?? row?.task ?? `Session ${selected}`;
  const parts: HTMLElement[] = view ? statusBlock(view) : [h('p', { class: 'empty' }, detail?.error ?? 'Loading…')];
  const d = detail && detailFor?.id === selected ? detail : null;
  parts.push(h('h3', {}, 'Log (newest first)'));
  parts.push(d && d.log.length ? h('ul', { class: 'log' }, ...d.log.map((e) => h('li', {}, time(e.timestamp), `${e.event_type} `, h('code', {}, [e.phase_id, e.item_id].filter(Boolean).join('/')), ` ${e.message}`))) : h('p', { class: 'empty' }, d ? 'No events.' : 'Loading…'));
  parts.push(h('h3', {}, 'Checkpoints'));
  parts.push(d && d.checkpoints.length ? h('ul', { class: 'cps' }, ...d.checkpoints.map((c) => h('li', {}, time(c.timestamp), h('code', {}, c.phaseId), ` ${c.message ?? ''}`))) : h('p', { class: 'empty' }, d ? 'No checkpoints yet.' : 'Loading…'));
  body.replaceChildren(...parts);
}

let fetching = false;
let fetchAgain = false;
/** Fetches the selected session's log and checkpoints (one request at a time; the newest wins). */
async function loadDetail(): Promise<void> {
  if (fetching) {
    fetchAgain = true;
    return;
  }
  fetching = true;
  try {
    do {
      fetchAgain = false;
      const id = selected;
      if (id === null) break;
      const updatedAt = snap?.statuses[id]?.updatedAt ?? null;
      const res = await fetch(`/api/session/${encodeURIComponent(id)}`, { credentials: 'same-origin' });
      const body = (await res.json()) as SessionDetail & { message?: string };
      if (id !== selected) continue;
      detail = res.ok ? body : { status: null, log: [], checkpoints: [], error: body.message ?? `HTTP ${res.status}` };
      detailFor = { id, updatedAt };
      renderDetail();
    } while (fetchAgain);
  } catch {
    // the stream's error handler says the server is gone
  } finally {
    fetching = false;
  }
}

function selectFromHash(): void {
  const m = /^#session=([0-9a-f]{8})$/.exec(location.hash);
  const wanted = m ? m[1]! : null;
  const fallback = snap?.sessions.find((s) => s.current)?.sessionId ?? snap?.sessions[0]?.sessionId ?? null;
  const next = wanted ?? fallback;
  if (next !== selected) {
    selected = next;
    detail = null;
    detailFor = null;
  }
}

function render(next: Snapshot): void {
  snap = next;
  $('repo').textContent = next.repo;
  document.title = next.waiting.length ? `(${next.waiting.length}) orch · ${next.repo}` : `orch · ${next.repo}`;
  $('approver').textContent = next.approver;
  const conn = $('conn');
  conn.textContent = next.daemon.state === 'connected' ? `live · daemon ${next.daemon.instanceId?.slice(0, 8) ?? ''}` : next.daemon.state === 'reconnecting' ? 'daemon away · reconnecting' : 'daemon stopped';
  conn.className = `conn ${next.daemon.state === 'connected' ? 'ok' : 'bad'}`;
  if (next.daemon.note !== lastDaemonNote) {
    lastDaemonNote = next.daemon.note;
    if (next.daemon.state !== 'connected') showBanner(next.daemon.note);
    else if (next.daemon.note) showBanner(next.daemon.note, 6000);
    else showBanner(null);
  }
  renderWaiting(next.waiting);
  selectFromHash();
  renderSessions(next.sessions);
  $('roster').replaceChildren(
    ...next.roster.map((r) => h('li', {}, `${r.kind}${r.name && r.name !== 'orch' ? ` ${r.name}` : ''}${r.pid ? ` (pid ${r.pid})` : ''}${r.sessionId ? ` · session ${r.sessionId}` : ''}${r.agent ? ' · agent' : ''}`)),
  );
  renderDetail();
  const updatedAt = selected ? (next.statuses[selected]?.updatedAt ?? null) : null;
  if (selected !== null && (detailFor?.id !== selected || (updatedAt !== null && detailFor.updatedAt !== updatedAt))) void loadDetail();
}

let events: EventSource | null = null;

function connect(): void {
  events?.close();
  const es = new EventSource('/events');
  events = es;
  es.addEventListener('snapshot', (e) => {
    if (streamBanner) {
      streamBanner = false;
      showBanner(null);
    }
    render(JSON.parse((e as MessageEvent<string>).data) as Snapshot);
  });
  es.addEventListener('error', () => {
    if (es !== events) return;
    streamBanner = true;
    const conn = $('conn');
    conn.className = 'conn bad';
    if (es.readyState === EventSource.CLOSED) {
      conn.textContent = 'disconnected';
      showBanner('orch ui is not answering (stopped, or restarted with a new token): run orch ui again and open the URL it prints.');
    } else {
      conn.textContent = 'reconnecting';
      showBanner('Lost the connection to orch ui; reconnecting…');
    }
  });
}

window.addEventListener('hashchange', () => {
  selectFromHash();
  if (snap) render(snap);
  $('detail').focus();
});
/**
 * A hidden tab lets go of its stream and takes a fresh snapshot when shown again: a browser keeps
 * at most 6 connections to one host, and every live tab holds one.
 */
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') {
    events?.close();
    events = null;
  } else if (events === null) connect();
});
connect();
