// dashboard.js - the dashboard: a row per instance with its state, live
// progress, last and next backup; Run now and Cancel. Live state comes from
// the daemon's event stream (GET /v1/events: snapshot, progress, state),
// or, when the daemon has no stream, from polling GET /v1/jobs every second.
import { api, el, bytes, duration, when, ago, statusBadge, showError, clearMessage, header } from './common.js';

header();
const tbody = document.getElementById('instances');
const rows = new Map();     // instance name -> {cells}
const entries = new Map();  // queue id -> entry (GET /v1/jobs)
const received = new Map(); // queue id -> when its progress arrived (for the clocks)
let instances = [];

// What cancelling does, by the step the job is in (docs/backup.md).
const CANCEL_TEXT = {
  queued: 'The job has not started: it is removed from the queue.',
  preflight: 'Nothing has been stopped yet: the job ends at once and the database keeps running.',
  preflush: 'The database is still running: the job stops flushing and ends; nothing else changes.',
  stop: 'The database is being stopped: the job starts it again and checks that it answers before it ends.',
  snapshot: 'The database is stopped: the job starts it again and checks that it answers before it ends. No backup is stored.',
  archive: 'The database may be stopped: the job stops archiving, starts the database again and checks it answers. No backup is stored.',
  upload: 'The database runs again; the upload stops and the backup is not stored on the receiver.',
  start: 'The database is being started: the job finishes starting and checking it, then ends as cancelled.',
  verify: 'The database is being checked: the job finishes the check, then ends as cancelled.',
  finish: 'The job is finishing: it ends as cancelled.',
};

function latest(name) {
  let best = null;
  for (const e of entries.values()) if (e.instance === name && (!best || e.id > best.id)) best = e;
  return best;
}

function buildRow(inst) {
  const status = el('span', { 'data-testid': 'job-status', class: 'status' }, 'idle');
  const bar = el('span');
  const progress = el('div', {
    class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
    'aria-label': `progress of ${inst.name}`, 'data-testid': 'job-progress', hidden: true,
  }, el('div', { class: 'bar' }, bar), el('div', { class: 'muted' }));
  const run = el('button', { type: 'button', class: 'primary', 'data-testid': 'run-now' }, 'Run now');
  const cancel = el('button', { type: 'button', class: 'danger', 'data-testid': 'cancel-job', hidden: true }, 'Cancel');
  run.addEventListener('click', () => runNow(inst.name, run));
  cancel.addEventListener('click', () => askCancel(inst.name));
  const last = el('td');
  const next = el('td', { class: 'wide' });
  const tr = el('tr', { 'data-testid': 'instance-row', 'data-instance': inst.name },
    el('th', { scope: 'row' }, inst.name), el('td', {}, status), el('td', {}, progress), last, next,
    el('td', {}, run, ' ', cancel));
  return { tr, status, progress, bar, run, cancel, last, next };
}

function renderStatic(inst, r) {
  const j = inst.last;
  r.last.replaceChildren(j
    ? el('div', {}, statusBadge(j.status), ' ', el('a', { href: `/job.html?id=${j.id}` }, `#${j.id}`),
        el('div', { class: 'muted' }, `${when(j.started_ms)} (${ago(j.started_ms)})`),
        el('div', { class: 'muted' }, `stored ${bytes(j.bytes_out)}, downtime ${duration(j.downtime_ms)}`))
    : el('span', { class: 'muted' }, 'never'));
  r.next.replaceChildren(...[
    inst.next_run_ms ? el('div', {}, when(inst.next_run_ms), el('div', { class: 'muted' }, inst.schedule)) : el('span', { class: 'muted' }, 'no schedule'),
    inst.overdue ? el('div', { class: 'overdue', title: 'a scheduled run passed without a successful backup' }, '⚠ overdue') : null,
  ].filter(Boolean));
}

function progressText(e) {
  const p = e.progress;
  const since = Date.now() - (received.get(e.id) || Date.now());
  const pct = p.bytes_total > 0 ? Math.min(100, Math.floor(100 * p.bytes_done / p.bytes_total)) : 0;
  const parts = [p.step, `${pct}%`, `${bytes(p.bytes_done)} of ${bytes(p.bytes_total)}`];
  if (p.rate > 0) parts.push(`${bytes(p.rate)}/s`);
  if (p.eta_ms !== null && p.eta_ms !== undefined) parts.push(`ETA ${duration(Math.max(0, p.eta_ms - since))}`);
  if (p.server_down) parts.push(`database down ${duration(p.downtime_ms + since)}`);
  else if (p.downtime_ms > 0) parts.push(`downtime ${duration(p.downtime_ms)}`);
  if (p.cancel_requested) parts.push('cancelling…');
  return { pct, text: parts.join(' · ') };
}

function renderLive(name) {
  const r = rows.get(name);
  if (!r) return;
  const e = latest(name);
  const status = e ? e.status : 'idle';
  r.status.textContent = status;
  r.status.className = `status status-${status}`;
  if (e) r.status.dataset.job = e.id; else delete r.status.dataset.job;
  const live = e && (e.status === 'running' || e.status === 'queued');
  r.cancel.hidden = !live;
  r.run.disabled = !!live;
  if (e && e.progress) {
    const { pct, text } = progressText(e);
    r.progress.hidden = false;
    r.progress.dataset.job = e.id;
    r.progress.setAttribute('aria-valuenow', pct);
    r.progress.setAttribute('aria-valuetext', text);
    r.bar.style.width = `${pct}%`;
    r.progress.lastChild.textContent = text;
  } else if (e && e.status !== 'queued') {
    // ended: the bar shows where it ended, the text its outcome
    r.progress.hidden = false;
    r.progress.dataset.job = e.id;
    const pct = e.status === 'ok' ? 100 : Number(r.progress.getAttribute('aria-valuenow') || 0);
    r.progress.setAttribute('aria-valuenow', pct);
    r.bar.style.width = `${pct}%`;
    r.progress.lastChild.textContent = e.error ? `${e.status}: ${e.error}` : e.status;
  } else {
    r.progress.hidden = true;
  }
}

async function loadInstances() {
  try {
    instances = (await api('/v1/ui/instances')).instances;
  } catch (err) { showError(err); return; }
  const names = new Set(instances.map((i) => i.name));
  for (const [name, r] of rows) if (!names.has(name)) { r.tr.remove(); rows.delete(name); }
  for (const inst of instances) {
    let r = rows.get(inst.name);
    if (!r) { r = buildRow(inst); rows.set(inst.name, r); tbody.append(r.tr); }
    renderStatic(inst, r);
    renderLive(inst.name);
  }
  if (instances.length === 0) tbody.replaceChildren(el('tr', {}, el('td', { colspan: 6 }, 'No instance yet: add one with mfb instance add.')));
}

function upsert(e) {
  const before = entries.get(e.id);
  entries.set(e.id, e);
  if (e.progress) received.set(e.id, Date.now());
  renderLive(e.instance);
  if (before && before.state !== 'done' && e.state === 'done') loadInstances();
}

function setAll(list) {
  const ended = [];
  for (const e of list) {
    const before = entries.get(e.id);
    if (before && before.state !== 'done' && e.state === 'done') ended.push(e);
  }
  entries.clear();
  for (const e of list) { entries.set(e.id, e); if (e.progress) received.set(e.id, Date.now()); }
  for (const name of rows.keys()) renderLive(name);
  if (ended.length) loadInstances();
}

async function runNow(name, button) {
  clearMessage();
  button.disabled = true;
  try {
    const r = await api('/v1/jobs', { method: 'POST', body: { instance: name } });
    if (!entries.has(r.id)) upsert({ id: r.id, instance: name, state: 'queued', status: 'queued' });
  } catch (err) { showError(err); button.disabled = false; }
}

const dialog = document.getElementById('cancel-dialog');
let cancelling = null;
function askCancel(name) {
  const e = latest(name);
  if (!e) return;
  cancelling = e.id;
  const step = e.status === 'queued' ? 'queued' : (e.progress && e.progress.step) || 'preflight';
  document.getElementById('cancel-title').textContent = `Cancel job ${e.id} of ${name}?`;
  document.getElementById('cancel-what').textContent = `Step now: ${step}. ${CANCEL_TEXT[step] || ''}`;
  dialog.showModal();
}
document.getElementById('cancel-no').addEventListener('click', () => dialog.close());
document.getElementById('cancel-yes').addEventListener('click', async () => {
  dialog.close();
  try { await api(`/v1/jobs/${cancelling}/cancel`, { method: 'POST' }); } catch (err) { showError(err); }
});

// ---- live updates ----
let polling = null;
async function poll() {
  try { setAll((await api('/v1/jobs')).jobs); } catch (err) { showError(err); }
}
function startPolling() {
  if (polling) return;
  document.getElementById('live-mode').textContent = 'Live: polling every second.';
  poll();
  polling = setInterval(poll, 1000);
}
function startEvents() {
  if (!window.EventSource) { startPolling(); return; }
  const es = new EventSource('/v1/events');
  let opened = false;
  es.addEventListener('snapshot', (ev) => {
    opened = true;
    document.getElementById('live-mode').textContent = 'Live: event stream.';
    setAll(JSON.parse(ev.data).jobs);
  });
  es.addEventListener('progress', (ev) => upsert(JSON.parse(ev.data)));
  es.addEventListener('state', (ev) => upsert(JSON.parse(ev.data)));
  es.addEventListener('error', () => {
    // No stream on this daemon (or it went away for good): poll instead.
    if (!opened || es.readyState === EventSource.CLOSED) { es.close(); startPolling(); }
  });
}

// the clocks (downtime, ETA) move between updates
setInterval(() => { for (const name of rows.keys()) renderLive(name); }, 1000);
setInterval(loadInstances, 30000);
loadInstances().then(startEvents);
