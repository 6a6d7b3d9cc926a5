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
let synced = false;         // the entries came from the stream or a poll

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

// A restore drill works on a scratch copy (docs/drill.md): whatever its step,
// the instance's own database is not touched.
const CANCEL_DRILL = 'This is a restore drill: it never touches the instance\'s own database. The drill stops its throwaway server, removes the scratch copy and ends as cancelled.';

function latest(name) {
  let best = null;
  for (const e of entries.values()) if (e.instance === name && (!best || e.id > best.id)) best = e;
  return best;
}

// The entry of the instance that runs now, or else the one that waits.
function live(name) {
  let running = null, queued = null;
  for (const e of entries.values()) {
    if (e.instance !== name) continue;
    if (e.state === 'running') running = e;
    else if (e.state === 'queued' && (!queued || e.id < queued.id)) queued = e;
  }
  return running || queued;
}

function buildRow(inst) {
  const state = el('div', { 'data-testid': 'instance-state', class: 'state' }, 'idle');
  const status = el('span', { 'data-testid': 'job-status', class: 'status' }, 'idle');
  const job = el('span', { class: 'muted' });
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
    el('th', { scope: 'row' }, inst.name), el('td', {}, state),
    el('td', {}, status, ' ', job, progress), last, next, el('td', {}, run, ' ', cancel));
  return { tr, state, status, job, progress, bar, run, cancel, last, next, inst };
}

// "backup ok #12" for the last job, its time, and what it moved.
function lastJob(j) {
  if (!j) return el('span', { class: 'muted' }, 'never');
  const facts = j.kind === 'drill'
    ? `restore drill, ${duration(j.ended_ms - j.started_ms)}`
    : `stored ${bytes(j.bytes_out)}, downtime ${duration(j.downtime_ms)}`;
  return el('div', { 'data-testid': 'last-job', 'data-job': j.id },
    statusBadge(j.status), ' ', j.kind === 'backup' ? '' : `${j.kind} `,
    el('a', { href: `/job.html?id=${j.id}` }, `#${j.id}`),
    el('div', { class: 'muted' }, `${when(j.started_ms)} (${ago(j.started_ms)})`),
    el('div', { class: 'muted' }, facts));
}

// The instance's expectation (mfb instance set --expect-every): the last
// good one and whether it is overdue, as the daemon's silence alarm says.
function expectation(what, lastMs, everyMs, overdue) {
  if (!everyMs) return null;
  const text = `last good ${what}: ${lastMs ? ago(lastMs) : 'never'}; expected every ${duration(everyMs)}`;
  if (!overdue) return el('div', { class: 'muted', 'data-testid': `expect-${what}` }, text);
  return el('div', { class: 'overdue', 'data-testid': 'overdue', 'data-what': what, role: 'status' }, `⚠ overdue: ${text}`);
}

function renderStatic(inst, r) {
  r.inst = inst;
  r.last.replaceChildren(...[lastJob(inst.last_job),
    expectation('backup', inst.last_ok_ms, inst.expect_every_ms, inst.overdue),
    expectation('drill', inst.last_drill_ok_ms, inst.expect_drill_every_ms, inst.drill_overdue),
  ].filter(Boolean));
  const n = inst.next_run;
  r.next.replaceChildren(n
    ? el('div', { 'data-testid': 'next-run' }, when(n.at_ms), el('div', { class: 'muted' }, `${n.schedule} (${ago(n.at_ms)})`))
    : el('span', { class: 'muted' }, 'no schedule'));
}

// The step as a person reads it; a drill's steps are on a scratch copy.
function stepText(e, step) {
  if (e.kind !== 'drill') return step;
  return { archive: 'download and unpack', start: 'start a scratch server', verify: 'check tables',
    stop: 'stop the scratch server' }[step] || step;
}

function progressText(e) {
  const p = e.progress;
  const since = Date.now() - (received.get(e.id) || Date.now());
  const pct = p.bytes_total > 0 ? Math.min(100, Math.floor(100 * p.bytes_done / p.bytes_total)) : 0;
  const parts = [stepText(e, p.step), `${pct}%`, `${bytes(p.bytes_done)} of ${bytes(p.bytes_total)}`];
  if (p.rate > 0) parts.push(`${bytes(p.rate)}/s`);
  if (p.eta_ms !== null && p.eta_ms !== undefined) parts.push(`ETA ${duration(Math.max(0, p.eta_ms - since))}`);
  if (p.server_down) parts.push(`database down ${duration(p.downtime_ms + since)}`);
  else if (p.downtime_ms > 0) parts.push(`downtime ${duration(p.downtime_ms)}`);
  if (p.cancel_requested) parts.push('cancelling…');
  return { pct, text: parts.join(' · ') };
}

// idle, queued, "running: STEP", and while the database is down, for how long.
function stateText(name, r) {
  const e = live(name);
  if (!e) {
    // before the first list of entries, what GET /v1/ui/instances said
    if (synced || !r.inst) return 'idle';
    return r.inst.state === 'running' && r.inst.step ? `running: ${r.inst.step}` : r.inst.state;
  }
  if (e.state === 'queued') return 'queued';
  const kind = e.kind === 'backup' ? '' : `${e.kind} `;
  const p = e.progress;
  if (!p) return `${kind}running`;
  let text = `${kind}running: ${stepText(e, p.step)}`;
  if (p.server_down) {
    const since = Date.now() - (received.get(e.id) || Date.now());
    text += ` · database stopped for ${Math.round((p.downtime_ms + since) / 1000)} s`;
  }
  return text;
}

function renderLive(name) {
  const r = rows.get(name);
  if (!r) return;
  r.state.textContent = stateText(name, r);
  const e = latest(name);
  const status = e ? e.status : 'idle';
  r.status.textContent = status;
  r.status.className = e ? `status status-${status}` : 'muted';
  if (e) r.status.dataset.job = e.id; else delete r.status.dataset.job;
  r.job.textContent = e ? `${e.kind === 'backup' ? '' : `${e.kind} `}#${e.id}` : '';
  const busy = e && (e.status === 'running' || e.status === 'queued');
  r.cancel.hidden = !busy;
  r.run.disabled = !!busy;
  // The bar is the current step's bytes: the archive's read, the upload's sent.
  if (e && e.progress) {
    const { pct, text } = progressText(e);
    r.progress.hidden = false;
    r.progress.dataset.job = e.id;
    r.progress.dataset.step = e.progress.step;
    r.progress.setAttribute('aria-valuenow', pct);
    r.progress.setAttribute('aria-valuetext', text);
    r.bar.style.width = `${pct}%`;
    r.progress.lastChild.textContent = text;
  } else if (e && e.status !== 'queued') {
    // ended: the bar shows where it ended, the text its outcome
    r.progress.hidden = false;
    r.progress.dataset.job = e.id;
    delete r.progress.dataset.step;
    const pct = e.status === 'ok' ? 100 : Number(r.progress.getAttribute('aria-valuenow') || 0);
    const text = e.error ? `${e.status}: ${e.error}` : e.status;
    r.progress.setAttribute('aria-valuenow', pct);
    r.progress.setAttribute('aria-valuetext', text);
    r.bar.style.width = `${pct}%`;
    r.progress.lastChild.textContent = text;
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
  synced = true;
  for (const e of list) { entries.set(e.id, e); if (e.progress) received.set(e.id, Date.now()); }
  for (const name of rows.keys()) renderLive(name);
  if (ended.length) loadInstances();
}

async function runNow(name, button) {
  clearMessage();
  button.disabled = true;
  try {
    const r = await api('/v1/jobs', { method: 'POST', body: { instance: name } });
    if (!entries.has(r.id)) upsert({ id: r.id, instance: name, kind: 'backup', state: 'queued', status: 'queued' });
  } catch (err) { showError(err); button.disabled = false; }
}

const dialog = document.getElementById('cancel-dialog');
let cancelling = null;
function askCancel(name) {
  const e = latest(name);
  if (!e) return;
  cancelling = e.id;
  const step = e.status === 'queued' ? 'queued' : (e.progress && e.progress.step) || 'preflight';
  const what = e.kind === 'drill' && step !== 'queued' ? CANCEL_DRILL : CANCEL_TEXT[step] || '';
  document.getElementById('cancel-title').textContent = `Cancel ${e.kind === 'backup' ? 'job' : e.kind} ${e.id} of ${name}?`;
  document.getElementById('cancel-what').textContent = `Step now: ${stepText(e, step)}. ${what}`;
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
// Which live mode the page uses, for people and for the tests (docs/ui.md).
function liveMode(mode, text) {
  const p = document.getElementById('live-mode');
  p.dataset.mode = mode;
  p.textContent = text;
}
function startPolling() {
  if (polling) return;
  liveMode('polling', 'Live: polling every second.');
  poll();
  polling = setInterval(poll, 1000);
}
function startEvents() {
  if (!window.EventSource) { startPolling(); return; }
  const es = new EventSource('/v1/events');
  let opened = false;
  es.addEventListener('snapshot', (ev) => {
    opened = true;
    liveMode('stream', 'Live: event stream.');
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
