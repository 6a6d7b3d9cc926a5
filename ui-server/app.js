// app.js - the receiver's dashboard: reads GET /ui/overview every 10 s and
// draws it (docs/server.md, "The dashboard"). Read-only: the one change it
// sends is POST /ui/logout, with the session's CSRF token.
const SVG = 'http://www.w3.org/2000/svg';
const REFRESH_MS = 10000;
let csrf = null;

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

function duration(s) {
  if (s === null || s === undefined) return '–';
  if (s < 0) s = 0;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${(s / 3600).toFixed(s < 10 * 3600 ? 1 : 0)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

function when(t) {
  return new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

// A horizontal bar in SVG: parts [{value, cls}] of a total.
function bar(parts, total, label) {
  const s = svg('svg', { viewBox: '0 0 100 6', preserveAspectRatio: 'none', class: 'meter',
    role: 'img', 'aria-label': label });
  s.append(svg('rect', { x: 0, y: 0, width: 100, height: 6, class: 'meter-bg' }));
  let x = 0;
  for (const p of parts) {
    const w = total > 0 ? Math.max(0, Math.min(100 - x, (p.value / total) * 100)) : 0;
    s.append(svg('rect', { x, y: 0, width: w, height: 6, class: p.cls }));
    x += w;
  }
  return s;
}

function drawStorage(st) {
  const box = document.getElementById('storage');
  box.replaceChildren();
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Kind'), el('dd', {}, st.kind),
    el('dt', {}, 'Backups'), el('dd', { 'data-testid': 'storage-used' }, bytes(st.backup_bytes)));
  if (st.free_bytes === null) {
    facts.append(el('dt', {}, 'Free'), el('dd', { 'data-testid': 'storage-free' },
      'not known: a bucket has no free space to tell'));
    box.append(facts);
    return;
  }
  const other = Math.max(0, st.total_bytes - st.free_bytes - st.backup_bytes);
  facts.append(el('dt', {}, 'Free'), el('dd', { 'data-testid': 'storage-free' },
    `${bytes(st.free_bytes)} of ${bytes(st.total_bytes)}`));
  box.append(facts, bar([{ value: st.backup_bytes, cls: 'used' }, { value: other, cls: 'other' }],
    st.total_bytes, `backups ${bytes(st.backup_bytes)}, free ${bytes(st.free_bytes)}`),
  el('p', { class: 'muted legend' }, el('span', { class: 'key used' }), ' backups ',
    el('span', { class: 'key other' }), ' other files ', el('span', { class: 'key free' }), ' free'));
}

function policyText(r) {
  if (!r.policy) return 'no policy: everything is kept';
  const parts = [];
  if (r.keep_last !== null) parts.push(`keep last ${r.keep_last}`);
  if (r.max_age_s !== null) parts.push(`at most ${duration(r.max_age_s)} old`);
  if (r.max_bytes !== null) parts.push(`at most ${bytes(r.max_bytes)}`);
  return parts.join(', ');
}

function retentionCell(r) {
  const td = el('td', { 'data-testid': 'retention' }, el('div', {}, policyText(r)));
  const list = (items, what) => {
    if (!items.length) return;
    const names = items.map((b) => `${b.name} (${b.reason})`).join(', ');
    td.append(el('div', { class: 'muted' }, `${what}: ${names}`));
  };
  list(r.due_now, 'goes at the next housekeeping');
  list(r.at_next_backup, 'goes when the next backup arrives');
  if (r.policy && !r.due_now.length && !r.at_next_backup.length)
    td.append(el('div', { class: 'muted' }, 'nothing to delete next'));
  return td;
}

function drillCell(d) {
  if (!d) return el('td', { 'data-testid': 'drill' }, el('span', { class: 'muted' }, 'never drilled'));
  const ok = d.result === 'passed';
  const td = el('td', { 'data-testid': 'drill', 'data-result': d.result },
    el('span', { class: `status ${ok ? 'status-ok' : 'status-failed'}` }, d.result),
    el('div', { class: 'muted' }, `${when(d.time)}, ${d.tables} tables, by ${d.verified_by}`));
  if (!d.of_latest) td.append(el('div', { class: 'muted' }, `of ${d.backup_name}, not the newest`));
  if (!ok && d.detail) td.append(el('div', { class: 'muted' }, d.detail));
  return td;
}

function instanceRow(i, now) {
  const overdue = i.expect && i.expect.overdue;
  const tr = el('tr', { 'data-testid': 'instance-row', 'data-client': i.client,
    'data-instance': i.instance, 'data-overdue': overdue ? 'yes' : 'no', class: overdue ? 'row-overdue' : null });
  tr.append(el('td', {}, el('strong', {}, i.client), ' / ', i.instance,
    i.client_active ? null : el('div', { class: 'muted' }, 'client removed')));
  if (i.last_backup) {
    tr.append(el('td', { 'data-testid': 'last-backup' }, i.last_backup.name,
      el('div', { class: 'muted' }, `${when(i.last_backup.created)}, ${duration(i.age_s)} ago, ${bytes(i.last_backup.size)}`)));
  } else {
    tr.append(el('td', { 'data-testid': 'last-backup' }, el('span', { class: 'muted' }, 'none yet')));
  }
  if (i.expect) {
    const td = el('td', { 'data-testid': 'expect' }, `every ${duration(i.expect.every_s)}`);
    if (overdue) {
      td.append(el('div', { class: 'overdue', 'data-testid': 'overdue' },
        `OVERDUE for ${duration(now - i.expect.since - i.expect.every_s)}`));
    } else if (!i.expect.checked) {
      td.append(el('div', { class: 'muted' }, 'not checked: the client is removed'));
    } else {
      td.append(el('div', { class: 'status status-ok' }, 'on time'));
    }
    tr.append(td);
  } else {
    tr.append(el('td', { 'data-testid': 'expect' }, el('span', { class: 'muted' }, 'no expectation')));
  }
  tr.append(drillCell(i.drill));
  tr.append(el('td', { class: 'wide' }, bytes(i.stored_bytes),
    el('div', { class: 'muted' }, `${i.backups} backup${i.backups === 1 ? '' : 's'}`)));
  tr.append(retentionCell(i.retention));
  return tr;
}

function uploadRow(u, now) {
  const pct = u.size ? Math.min(100, (u.received / u.size) * 100) : null;
  const prog = el('td', { class: 'progress' });
  if (pct !== null) {
    prog.append(bar([{ value: u.received, cls: 'used' }], u.size, `${pct.toFixed(0)} %`),
      el('div', { class: 'muted' }, `${bytes(u.received)} of ${bytes(u.size)} (${pct.toFixed(0)} %)`));
  } else {
    prog.append(el('div', {}, `${bytes(u.received)} (size not declared)`));
  }
  return el('tr', { 'data-testid': 'upload-row', 'data-upload': u.id },
    el('td', {}, el('strong', {}, u.client), ' / ', u.instance), el('td', {}, u.name), prog,
    el('td', { class: 'wide' }, `${duration(now - u.updated)} ago`));
}

// Each cell names its column (data-label), which the phone layout shows
// in front of it when a row becomes a card (style.css).
function label(tr, names) {
  [...tr.children].forEach((td, i) => {
    td.setAttribute('data-label', names[i] || '');
    td.append(el('div', {}, ...td.childNodes)); // one grid cell for the content
  });
  return tr;
}
const INSTANCE_COLUMNS = ['', 'Newest backup', 'Expected', 'Restore drill', 'Stored', 'Retention'];
const UPLOAD_COLUMNS = ['', 'File', 'Progress', 'Last activity'];

function draw(o) {
  document.getElementById('updated').textContent = `mfb ${o.version} · ${when(o.now)}`;
  drawStorage(o.storage);
  const rows = o.instances.map((i) => label(instanceRow(i, o.now), INSTANCE_COLUMNS));
  const body = document.getElementById('instances');
  if (rows.length) body.replaceChildren(...rows);
  else body.replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'no backups yet')));
  const late = o.instances.filter((i) => i.expect && i.expect.overdue);
  const sum = document.getElementById('overdue-summary');
  sum.textContent = late.length ? `${late.length} instance${late.length === 1 ? ' is' : 's are'} overdue`
    : 'no instance is overdue';
  sum.className = late.length ? 'overdue' : 'muted';
  const ups = document.getElementById('uploads');
  if (o.uploads.length) ups.replaceChildren(...o.uploads.map((u) => label(uploadRow(u, o.now), UPLOAD_COLUMNS)));
  else ups.replaceChildren(el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'none')));
  const cl = document.getElementById('clients');
  cl.replaceChildren(...o.clients.map((c) => el('tr', { 'data-testid': 'client-row' },
    el('td', {}, c.name, c.active ? null : el('span', { class: 'muted' }, ' (removed)')),
    el('td', {}, String(c.backups)), el('td', {}, bytes(c.stored_bytes)),
    el('td', {}, c.quota === null ? 'none' : bytes(c.quota)))));
  document.body.dataset.loaded = 'yes';
}

async function load() {
  const box = document.getElementById('error');
  try {
    const r = await fetch('/ui/overview', { credentials: 'same-origin' });
    if (r.status === 401) { location.href = '/login.html'; return; }
    const o = await r.json();
    if (!r.ok) throw new Error(o.message || `HTTP ${r.status}`);
    box.hidden = true;
    draw(o);
  } catch (e) {
    box.textContent = `cannot load the dashboard: ${e.message}`;
    box.hidden = false;
  }
}

document.getElementById('logout').addEventListener('click', async () => {
  if (csrf === null) {
    const r = await fetch('/ui/session', { credentials: 'same-origin' });
    if (r.ok) csrf = (await r.json()).csrf;
  }
  await fetch('/ui/logout', { method: 'POST', credentials: 'same-origin',
    headers: { 'X-CSRF-Token': csrf || '' } });
  location.href = '/login.html';
});

load();
setInterval(load, REFRESH_MS);
