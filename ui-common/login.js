// login.js - the login form of the web UI and of the receiver's dashboard:
// POST /ui/login with the password as JSON; on success the server sets the
// session cookie and the page opens.
const form = document.getElementById('login-form');
const msg = document.getElementById('login-message');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  msg.className = 'msg';
  msg.textContent = 'Checking…';
  const password = document.getElementById('password').value;
  const r = await fetch('/ui/login', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password }),
  });
  if (r.ok) { location.href = '/index.html'; return; }
  let text = 'wrong password';
  try { text = (await r.json()).message || text; } catch (e) { /* not JSON */ }
  if (r.status === 429) text += ` (retry in ${r.headers.get('Retry-After')} s)`;
  msg.className = 'msg bad';
  msg.textContent = text;
  document.getElementById('password').select();
});
