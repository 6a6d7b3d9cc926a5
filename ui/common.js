// common.js - what every page of the web UI shares: the API call with the
// session's CSRF token, the header's logout, formatting of sizes, times and
// durations, and small DOM helpers. The UI talks only to the daemon's
// documented API (docs/daemon.md, docs/ui.md).

let csrf = null;

// The session's CSRF token (GET /ui/session); a missing session goes to the login page.
export async function session() {
  if (csrf) return csrf;
  const r = await fetch('/ui/session', { credentials: 'same-origin' });
  if (r.status === 401) { location.href = '/login.html'; throw new Error('not logged in'); }
  csrf = (await r.json()).csrf;
  return csrf;
}

// Calls the API: JSON in, JSON out; throws an Error with the API's message and hint.
export async function api(path, { method = 'GET', body } = {}) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = await session();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401) { location.href = '/login.html'; throw new Error('not logged in'); }
  const type = r.headers.get('Content-Type') || '';
  const data = type.startsWith('application/json') ? await r.json() : await r.text();
  if (!r.ok) {
    const e = new Error((data && data.message) || `HTTP ${r.status}`);
    e.hint = data && data.hint;
    e.status = r.status;
    throw e;
  }
  return data;
}

// An element: el('td', {class: 'x', dataset: {job: 3}}, 'text', child...).
export function el(tag, attrs = {}, ...children) {
  const svg = ['svg', 'rect', 'circle', 'line', 'polyline', 'text', 'g', 'title', 'path'].includes(tag);
  const e = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, v = Number(n);
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : `${s} s`;
  const m = Math.floor(s / 60), h = Math.floor(m / 60);
  if (h >= 24) return h % 24 ? `${Math.floor(h / 24)} d ${h % 24} h` : `${h / 24} d`;
  if (h > 0) return `${h} h ${m % 60} min`;
  return `${m} min ${s % 60} s`;
}

export function when(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  const pad = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function ago(ms) {
  if (!ms) return '';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 0) return `in ${duration(-s * 1000)}`;
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export function statusBadge(status, attrs = {}) {
  return el('span', { class: `status status-${status}`, ...attrs }, status || '–');
}

// Shows an error (message and hint) in the page's message area.
export function showError(err, where = document.getElementById('message')) {
  if (!where) return;
  where.replaceChildren(el('div', { class: 'error-box', role: 'alert' }, err.message,
    err.hint ? el('div', { class: 'muted' }, err.hint) : null));
}

export function clearMessage(where = document.getElementById('message')) {
  if (where) where.replaceChildren();
}

// The pages in the header's navigation, in its order.
const PAGES = [
  ['/index.html', 'Dashboard'],
  ['/jobs.html', 'Jobs'],
  ['/reports.html', 'Reports'],
  ['/schedules.html', 'Schedules'],
  ['/settings.html', 'Instances, targets, alerts'],
];

// Fills the page's <header class="top">: the brand, the navigation with the
// current page marked, and the logout button. Written once here, so every
// page has the same header without a build step.
export function header() {
  const here = location.pathname === '/' ? '/index.html' : location.pathname;
  const top = document.querySelector('header.top');
  if (!top) return;
  const out = el('button', { id: 'logout', type: 'button' }, 'Log out');
  top.replaceChildren(
    el('span', { class: 'brand' }, 'mfb'),
    el('nav', { 'aria-label': 'pages' },
      PAGES.map(([href, text]) => el('a', { href, 'aria-current': href === here ? 'page' : null }, text))),
    out);
  out.addEventListener('click', async () => {
    try { await api('/ui/logout', { method: 'POST' }); } finally { location.href = '/login.html'; }
  });
}
