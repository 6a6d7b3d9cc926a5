// reports.js - the report page: for a chosen period, per instance, the
// figures of `mfb report` (GET /v1/ui/report) and SVG charts of duration,
// downtime and stored size over time, one point per job (red: not ok);
// the CSV link downloads `mfb report --csv`'s text.
import { api, el, bytes, duration, when, showError, clearMessage, header } from './common.js';

header();
const period = document.getElementById('period');
const csv = document.getElementById('csv');

// A chart of points {t, v, ok, job} over [t0, t1]; fmt labels values.
function chart(title, points, t0, t1, fmt, testid) {
  const W = 480, H = 180, L = 64, R = 10, T = 20, B = 28;
  const vmax = Math.max(1, ...points.map((p) => p.v));
  const x = (t) => L + (W - L - R) * (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5);
  const y = (v) => H - B - (H - T - B) * v / vmax;
  const svg = el('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, 'data-testid': testid });
  svg.append(el('text', { x: L, y: 12 }, title),
    el('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
    el('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }),
    el('text', { x: 2, y: T + 4 }, fmt(vmax)), el('text', { x: 2, y: H - B }, fmt(0)),
    el('text', { x: L, y: H - 8 }, when(t0)), el('text', { x: W - R - 90, y: H - 8 }, when(t1)));
  const ok = points.filter((p) => p.ok);
  if (ok.length > 1) svg.append(el('polyline', { class: 'line', points: ok.map((p) => `${x(p.t)},${y(p.v)}`).join(' ') }));
  for (const p of points) {
    svg.append(el('circle', { cx: x(p.t), cy: y(p.v), r: 4, class: p.ok ? 'point-ok' : 'point-bad', 'data-testid': 'chart-point', 'data-job': p.job },
      el('title', {}, `job ${p.job}, ${when(p.t)}: ${fmt(p.v)}${p.ok ? '' : ` (${p.status})`}`)));
  }
  return svg;
}

function card(r, t0, t1) {
  const pts = r.points;
  const growth = r.growth >= 0 ? `+${bytes(r.growth)}` : `-${bytes(-r.growth)}`;
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'jobs'), el('dd', {}, `${r.jobs}, ${r.ok} ok`),
    el('dt', {}, 'success rate'), el('dd', { 'data-testid': 'success-rate' }, `${(r.success_rate * 100).toFixed(1)}%`),
    el('dt', {}, 'last success'), el('dd', {}, when(r.last_success_ms)),
    el('dt', {}, 'duration'), el('dd', {}, `avg ${duration(r.avg_duration_ms)}, max ${duration(r.max_duration_ms)}`),
    el('dt', {}, 'downtime'), el('dd', {}, `avg ${duration(r.avg_downtime_ms)}, max ${duration(r.max_downtime_ms)}`),
    el('dt', {}, 'stored size'), el('dd', {}, `avg ${bytes(r.avg_size)}, total ${bytes(r.total_size)}`),
    el('dt', {}, 'growth'), el('dd', {}, growth),
    el('dt', {}, 'failures'), el('dd', {}, r.failures.length ? r.failures.map((f) => `${f.cause} ×${f.count}`).join(', ') : 'none'));
  const mk = (key) => pts.map((p) => ({ t: p.started_ms, v: p[key] || 0, ok: p.status === 'ok', status: p.status, job: p.job_id }));
  return el('section', { class: 'card', 'data-testid': 'report-instance', 'data-instance': r.instance },
    el('h2', {}, r.instance), facts,
    chart('duration', mk('duration_ms'), t0, t1, duration, 'chart-duration'),
    chart('downtime', mk('downtime_ms'), t0, t1, duration, 'chart-downtime'),
    chart('stored size', mk('size').filter((p) => p.ok), t0, t1, bytes, 'chart-size'));
}

async function load() {
  clearMessage();
  const since = period.value;
  history.replaceState(null, '', `?period=${since}`);
  csv.href = `/v1/ui/report?since=${since}&format=csv`;
  let data;
  try { data = await api(`/v1/ui/report?since=${since}`); } catch (err) { showError(err); return; }
  const box = document.getElementById('report');
  box.replaceChildren(el('div', { class: 'cards' }, data.instances.map((r) => card(r, data.since_ms, data.until_ms))));
  if (data.instances.length === 0) box.append(el('p', {}, 'No backup in this period.'));
}

period.value = new URLSearchParams(location.search).get('period') || '30d';
period.addEventListener('change', load);
load();
