// settings.js - the stored instances, targets and alert channels (GET
// /v1/ui/settings; never a password or token), with Check (the checks of
// `mfb instance check` / `mfb target check`) and Send test (`mfb alert
// test`). Changing them stays with the mfb commands.
import { api, el, bytes, duration, showError, header } from './common.js';

header();

function facts(pairs) {
  return el('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
}

function result(box, r) {
  box.replaceChildren(el('ul', {}, r.checks.map((c) => el('li', { class: c.ok ? 'status-ok' : 'status-failed' },
    `${c.ok ? '✓' : '✗'} ${c.name}: ${c.ok ? (c.detail || 'ok') : c.message}`,
    c.hint ? el('div', { class: 'muted' }, c.hint) : null))));
}

function action(label, path, testid, show) {
  const box = el('div', { 'aria-live': 'polite', 'data-testid': `${testid}-result` });
  const b = el('button', { type: 'button', 'data-testid': testid }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    box.textContent = 'Working…';
    try { show(box, await api(path, { method: 'POST' })); } catch (err) { showError(err, box); }
    b.disabled = false;
  });
  return [b, box];
}

function card(title, pairs, actions, attrs) {
  return el('section', { class: 'card', ...attrs }, el('h3', {}, title), facts(pairs), ...actions);
}

async function load() {
  let s;
  try { s = await api('/v1/ui/settings'); } catch (err) { showError(err); return; }
  document.getElementById('instances').replaceChildren(el('div', { class: 'cards' }, s.instances.map((i) => card(i.name, [
    ['connection', i.socket || `${i.host}:${i.port}`], ['user', i.user], ['password', i.password_set ? 'set' : 'none'],
    ['control', i.control], ['start command', i.start_cmd], ['stop command', i.stop_cmd], ['data directory', i.datadir],
    ['spool', i.spool], ['restart after', i.restart_after],
    ['timeouts', Object.entries(i.timeouts_ms).map(([k, v]) => `${k} ${duration(v)}`).join(', ')],
  ], action('Check', `/v1/ui/instances/${encodeURIComponent(i.name)}/check`, 'check-instance', result),
  { 'data-testid': 'settings-instance', 'data-instance': i.name }))));
  document.getElementById('targets').replaceChildren(el('div', { class: 'cards' }, s.targets.map((t) => card(t.name, [
    ['URL', t.url], ['token', t.token_set ? 'set' : 'none'], ['fingerprint', t.fingerprint], ['CA file', t.ca_file],
    ['directory', t.directory], ['naming', t.naming], ['chunk size', bytes(t.chunk_size)], ['connections', t.connections],
  ], action('Check', `/v1/ui/targets/${encodeURIComponent(t.name)}/check`, 'check-target', result),
  { 'data-testid': 'settings-target' }))));
  const sent = (box, r) => box.replaceChildren(r.sent ? el('span', { class: 'status-ok' }, 'sent')
    : el('span', { class: 'status-failed' }, `failed: ${r.message}`, r.hint ? el('div', { class: 'muted' }, r.hint) : null));
  document.getElementById('alerts').replaceChildren(s.alerts.length ? el('div', { class: 'cards' }, s.alerts.map((a) => card(a.name, [
    ['kind', a.kind], ['from severity', a.min_severity], ['URL', a.url], ['secret', a.secret_set ? 'set' : 'none'],
    ['SMTP user', a.smtp_user], ['from', a.mail_from], ['to', a.mail_to], ['command', a.command],
  ], action('Send test', `/v1/ui/alerts/${encodeURIComponent(a.name)}/test`, 'test-alert', sent),
  { 'data-testid': 'settings-alert' }))) : el('p', { class: 'muted' }, 'No alert channel: add one with mfb alert add.'));
}

load();
