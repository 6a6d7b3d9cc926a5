// schedules.js - the schedules (GET /v1/ui/schedules, the same as
// GET /v1/schedules) with their next runs in their own zone, pause and resume, and the add/edit form whose cron expression is
// checked as it is typed (GET /v1/ui/cron: the parser's message, or the
// next five runs). Saving goes through POST /v1/ui/schedules.
import { api, el, when, statusBadge, showError, clearMessage, header } from './common.js';

header();
const tbody = document.getElementById('schedules');
const form = document.getElementById('schedule-form');
const check = document.getElementById('cron-check');
let editing = null;

// "2026-03-29T03:00:00+02:00" (the schedule's own zone, GET /v1/schedules)
// as "2026-03-29 03:00 +02:00".
function zoned(iso) {
  return el('time', { datetime: iso }, `${iso.slice(0, 16).replace('T', ' ')} ${iso.slice(19)}`);
}

function lastRun(l) {
  if (!l) return el('span', { class: 'muted' }, 'never');
  return el('span', {}, l.status ? statusBadge(l.status) : '', ' ',
    el('a', { href: `/job.html?id=${l.job_id}` }, `#${l.job_id}`));
}

function row(s) {
  const toggle = el('button', { type: 'button', 'data-testid': s.paused ? 'resume-schedule' : 'pause-schedule' }, s.paused ? 'Resume' : 'Pause');
  toggle.addEventListener('click', async () => {
    try { await api(`/v1/ui/schedules/${encodeURIComponent(s.name)}/${s.paused ? 'resume' : 'pause'}`, { method: 'POST' }); load(); } catch (err) { showError(err); }
  });
  const edit = el('button', { type: 'button' }, 'Edit');
  edit.addEventListener('click', () => startEdit(s));
  return el('tr', { 'data-testid': 'schedule-row', 'data-schedule': s.name },
    el('th', { scope: 'row' }, s.name),
    el('td', {}, s.instance, s.kind === 'backup' ? '' : el('div', { class: 'muted' }, s.kind)),
    el('td', {}, el('code', {}, s.cron), el('div', { class: 'muted' }, s.tz)),
    el('td', {}, s.paused ? el('span', { class: 'muted' }, 'paused') : el('ul', {}, s.next_runs.map((t) => el('li', {}, zoned(t))))),
    el('td', { class: 'wide' }, lastRun(s.last_run)),
    el('td', {}, toggle, ' ', edit));
}

async function load() {
  let data;
  try { data = await api('/v1/ui/schedules'); } catch (err) { showError(err); return; }
  tbody.replaceChildren(...data.schedules.map(row));
  if (data.schedules.length === 0) tbody.append(el('tr', {}, el('td', { colspan: 6 }, 'No schedule yet.')));
}

let timer = null;
let asked = 0;
async function checkCron() {
  const expr = form.elements.cron.value.trim();
  if (!expr) { check.replaceChildren(); return; }
  const mine = ++asked;
  let r;
  try {
    r = await api(`/v1/ui/cron?${new URLSearchParams({ expr, tz: form.elements.tz.value || 'UTC' })}`);
  } catch (err) { showError(err); return; }
  if (mine !== asked) return; // an older answer
  if (!r.valid) {
    form.elements.cron.setAttribute('aria-invalid', 'true');
    check.replaceChildren(el('div', { class: 'error-box', 'data-testid': 'cron-error' }, r.message, r.hint ? el('div', { class: 'muted' }, r.hint) : null));
  } else {
    form.elements.cron.removeAttribute('aria-invalid');
    check.replaceChildren(el('div', { 'data-testid': 'cron-next' }, 'Next runs:',
      el('ol', {}, r.next_runs.map((t) => el('li', {}, `${when(t)} (${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC)`)))));
  }
}
for (const f of ['cron', 'tz']) {
  form.elements[f].addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(checkCron, 200); });
}

function startEdit(s) {
  editing = s ? s.name : null;
  document.getElementById('form-title').textContent = s ? `Edit ${s.name}` : 'Add a schedule';
  form.elements.name.value = s ? s.name : '';
  form.elements.name.readOnly = !!s;
  form.elements.instance.value = s ? s.instance : form.elements.instance.value;
  form.elements.cron.value = s ? s.cron : '';
  form.elements.tz.value = s ? s.tz : 'UTC';
  checkCron();
  form.elements.cron.focus();
}
document.getElementById('s-new').addEventListener('click', () => startEdit(null));

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearMessage();
  const body = { name: form.elements.name.value, instance: form.elements.instance.value,
    cron: form.elements.cron.value.trim(), tz: form.elements.tz.value || 'UTC' };
  try {
    await api(editing ? `/v1/ui/schedules/${encodeURIComponent(editing)}` : '/v1/ui/schedules', { method: 'POST', body });
    startEdit(null);
    load();
  } catch (err) { showError(err); }
});

async function instances() {
  try {
    const list = (await api('/v1/ui/instances')).instances;
    form.elements.instance.replaceChildren(...list.map((i) => el('option', { value: i.name }, i.name)));
  } catch (err) { showError(err); }
}

instances().then(load);
