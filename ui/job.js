// job.js - one job of the log (GET /v1/ui/jobs/{id}): its steps on a
// timeline, downtime, sizes and events; for a failed job the error, the
// hint, the stack trace and the system's state when it failed; for a
// critical one the recovery steps (docs/recovery.md).
import { api, el, bytes, duration, when, statusBadge, showError, header } from './common.js';

header();
const STEPS = ['preflight', 'preflush', 'stop', 'snapshot', 'archive', 'upload', 'start', 'verify', 'finish'];
const DOWN = new Set(['stop', 'snapshot', 'archive', 'start']); // the server may be down in these
// A restore drill's steps, in its order, on a scratch copy (docs/drill.md).
const DRILL_STEPS = ['preflight', 'archive', 'start', 'verify', 'stop', 'finish'];
const DRILL_NAMES = { archive: 'download', start: 'scratch start', verify: 'check tables', stop: 'scratch stop' };

function timeline(j) {
  const drill = j.kind === 'drill';
  const steps = (drill ? DRILL_STEPS : STEPS).filter((s) => j.steps && j.steps[s] !== undefined);
  const total = steps.reduce((a, s) => a + j.steps[s], 0) || 1;
  const W = 600, H = 24 * steps.length + 10, X0 = 90;
  const svg = el('svg', { class: 'timeline chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': 'steps on a timeline', 'data-testid': 'job-timeline' });
  let t = 0;
  steps.forEach((s, i) => {
    const x = X0 + (W - X0 - 80) * t / total, w = Math.max(2, (W - X0 - 80) * j.steps[s] / total);
    const name = drill ? DRILL_NAMES[s] || s : s;
    svg.append(el('text', { x: 0, y: 24 * i + 20 }, name),
      el('rect', { x, y: 24 * i + 8, width: w, height: 16, class: !drill && DOWN.has(s) && j.downtime_ms ? 'down-step' : '' },
        el('title', {}, `${name}: ${duration(j.steps[s])}`)),
      el('text', { x: x + w + 4, y: 24 * i + 20 }, duration(j.steps[s])));
    t += j.steps[s];
  });
  return svg;
}

function recovery(j) {
  return el('div', { class: 'error-box', 'data-testid': 'job-recovery' },
    el('h2', {}, 'The database did not come back: recover by hand'),
    el('ol', {},
      el('li', {}, `On ${j.host || 'the database host'}, check whether the server runs (systemctl status, or the instance's start command) and read its error log.`),
      el('li', {}, 'Start it with the instance\'s start method; if it refuses, fix what its log names (space, permissions, a half-written file) and start it again.'),
      el('li', {}, 'Check that it answers (mariadb -e "SELECT 1") and that applications reconnect.'),
      el('li', {}, 'If the data directory is damaged, restore the last good backup (mfb restore, docs/restore.md).'),
      el('li', {}, 'Then run a backup again: mfb run, or Run now on the dashboard.')),
    el('p', { class: 'muted' }, 'docs/recovery.md has the full procedure.'));
}

async function load() {
  const id = Number(new URLSearchParams(location.search).get('id'));
  let j;
  try { j = await api(`/v1/ui/jobs/${id}`); } catch (err) { showError(err); return; }
  const drill = j.kind === 'drill';
  document.getElementById('title').replaceChildren(`${drill ? 'Restore drill' : 'Job'} #${j.id} of ${j.instance} `, statusBadge(j.status, { 'data-testid': 'job-status' }));
  document.title = `mfb: job ${j.id}`;
  const box = document.getElementById('job');
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'kind'), el('dd', {}, j.kind),
    el('dt', {}, 'target'), el('dd', {}, j.target || '–'),
    el('dt', {}, 'started'), el('dd', {}, when(j.started_ms)),
    el('dt', {}, 'ended'), el('dd', {}, when(j.ended_ms)),
    el('dt', {}, 'duration'), el('dd', {}, duration(j.duration_ms)),
    ...(drill ? [] : [
      el('dt', {}, 'downtime'), el('dd', {}, duration(j.downtime_ms)),
      el('dt', {}, 'read'), el('dd', {}, bytes(j.bytes_in)),
      el('dt', {}, 'sent'), el('dd', {}, `${bytes(j.bytes_out)} in ${j.chunks} chunks, ${j.retries} retried`)]),
    el('dt', {}, drill ? 'backup drilled' : 'backup'), el('dd', {}, j.backup_name || '–'),
    el('dt', {}, 'host'), el('dd', {}, j.host || '–'));
  const parts = [];
  if (j.error) {
    parts.push(el('div', { class: 'error-box', 'data-testid': 'job-error' },
      el('strong', {}, j.error_step ? `${j.error_step}: ` : ''), j.error));
  }
  if (j.hint) parts.push(el('div', { class: 'hint-box', 'data-testid': 'job-hint' }, j.hint));
  if (j.status === 'critical') parts.push(recovery(j));
  if (drill) {
    parts.push(el('p', { class: 'muted', 'data-testid': 'drill-note' }, 'A restore drill: the backup is downloaded, unpacked into a scratch directory and checked (CHECK TABLE, counts against its manifest) on a throwaway server. The instance\'s own database is not touched (docs/drill.md).'));
  }
  parts.push(el('h2', {}, 'Steps'), timeline(j), el('h2', {}, 'Facts'), facts);
  parts.push(el('h2', {}, 'Events'), el('div', { class: 'table-wrap' }, el('table', {},
    el('thead', {}, el('tr', {}, el('th', {}, 'time'), el('th', {}, 'level'), el('th', {}, 'step'), el('th', {}, 'message'))),
    el('tbody', {}, j.events.map((e) => el('tr', {},
      el('td', {}, new Date(e.time_ms).toLocaleTimeString()), el('td', {}, e.level), el('td', {}, e.step), el('td', {}, e.message)))))));
  if (j.backtrace) parts.push(el('h2', {}, 'Stack trace'), el('pre', { 'data-testid': 'job-backtrace' }, j.backtrace));
  if (j.system_state) parts.push(el('h2', {}, 'System state when it failed'), el('pre', { 'data-testid': 'job-system-state' }, j.system_state));
  box.replaceChildren(...parts);
}

load();
