// jobs.js - the job log: newest first, in pages, filtered by instance,
// kind (backup, drill, ...), status, trigger and period, with full-text search over the jobs' events
// (GET /v1/ui/jobs). The filters live in the URL, so a filtered view can
// be bookmarked and the back button works.
import { api, el, bytes, duration, when, statusBadge, showError, clearMessage, header } from './common.js';

header();
const form = document.getElementById('filters');
const tbody = document.getElementById('jobs');
const FIELDS = ['instance', 'kind', 'status', 'trigger', 'since', 'q'];
let page = 1;

function fromUrl() {
  const p = new URLSearchParams(location.search);
  for (const f of FIELDS) form.elements[f].value = p.get(f) || '';
  page = Math.max(1, Number(p.get('page') || 1));
}

function toUrl() {
  const p = new URLSearchParams();
  for (const f of FIELDS) if (form.elements[f].value) p.set(f, form.elements[f].value);
  if (page > 1) p.set('page', page);
  const q = p.toString();
  history.replaceState(null, '', q ? `?${q}` : location.pathname);
  return p;
}

async function load() {
  const p = toUrl();
  p.set('page', page);
  clearMessage();
  let data;
  try { data = await api(`/v1/ui/jobs?${p}`); } catch (err) { showError(err); return; }
  tbody.replaceChildren(...data.jobs.map((j) => {
    const link = el('a', { href: `/job.html?id=${j.id}` }, `#${j.id}`);
    const tr = el('tr', { class: 'clickable', 'data-testid': 'job-row', 'data-job': j.id },
      el('td', {}, link), el('td', {}, j.instance), el('td', { 'data-testid': 'job-kind' }, j.kind),
      el('td', {}, statusBadge(j.status)),
      el('td', {}, when(j.started_ms)), el('td', { class: 'wide' }, j.trigger),
      el('td', {}, duration(j.duration_ms)), el('td', { class: 'wide' }, duration(j.downtime_ms)),
      el('td', { class: 'wide' }, j.status === 'ok' && j.kind !== 'drill' ? bytes(j.bytes_out) : '–'));
    tr.addEventListener('click', (ev) => { if (ev.target !== link) location.href = link.href; });
    return tr;
  }));
  if (data.jobs.length === 0) tbody.append(el('tr', {}, el('td', { colspan: 9 }, 'No job matches.')));
  document.getElementById('page-no').textContent = `page ${page}`;
  document.getElementById('prev').disabled = page <= 1;
  document.getElementById('next').disabled = !data.more;
}

async function instances() {
  try {
    const list = (await api('/v1/ui/instances')).instances;
    const sel = form.elements.instance;
    for (const i of list) sel.append(el('option', { value: i.name }, i.name));
    sel.value = new URLSearchParams(location.search).get('instance') || '';
  } catch (err) { showError(err); }
}

form.addEventListener('submit', (ev) => { ev.preventDefault(); page = 1; load(); });
for (const f of ['instance', 'kind', 'status', 'trigger', 'since']) {
  form.elements[f].addEventListener('change', () => { page = 1; load(); });
}
document.getElementById('prev').addEventListener('click', () => { page = Math.max(1, page - 1); load(); });
document.getElementById('next').addEventListener('click', () => { page += 1; load(); });

fromUrl();
instances().then(load);
