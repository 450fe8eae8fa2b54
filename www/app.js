// The demo page: one authFetch, a login form, the server's knobs, and a timeline of every
// attempt, wait and refresh, drawn as SVG.
import init, { createAuthFetch } from '/pkg/index.js';

await init();

const $ = (id) => document.getElementById(id);
const t0 = performance.now();
const now = () => performance.now() - t0;

// What the page shows, also read by the end-to-end tests.
const state = {
  calls: [], // { id, label, start, end, status, attempts: [{ start, end, status }] }
  refreshes: [], // { start, end, ok }
  counts: { requests: 0, unauthorized: 0, refreshes: 0, retries: 0, failures: 0 },
  authFailures: [],
};
window.demo = state;

// Every attempt authFetch makes goes through here, so the timeline sees first attempts and
// retries alike. The refresh request (to /auth/) is drawn on the refresh lane instead.
function callOf(url) {
  const id = Number(new URL(url, location.href).searchParams.get('call'));
  return state.calls.find((c) => c.id === id);
}
async function instrumentedFetch(input, init) {
  const url = typeof input === 'string' ? input : input.url ?? String(input);
  const call = url.includes('/auth/') ? undefined : callOf(url);
  const attempt = { start: now(), end: undefined, status: undefined };
  call?.attempts.push(attempt);
  draw();
  try {
    const response = await fetch(input, init);
    attempt.status = response.status;
    if (call && response.status === 401) state.counts.unauthorized += 1;
    return response;
  } catch (e) {
    attempt.status = 0;
    throw e;
  } finally {
    attempt.end = now();
    draw();
  }
}

const authFetch = createAuthFetch({
  fetch: instrumentedFetch,
  storage: 'session',
  storageKey: 'reauth-demo',
  async refresh({ refreshToken, fetch, signal, challenges }) {
    $('last-challenge').textContent = challenges.length
      ? `The 401 said: ${challenges.map((c) => `${c.scheme} ${c.params.map(([k, v]) => `${k}="${v}"`).join(', ')}`).join('; ')}`
      : 'The 401 had no WWW-Authenticate challenge.';
    const r = await fetch('/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
      signal,
    });
    const body = await r.json();
    if (!r.ok) throw new Error(`${body.error}: ${body.error_description}`);
    return { accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in };
  },
  onEvent(e) {
    if (e.type === 'refresh-start') {
      state.counts.refreshes += 1;
      state.refreshes.push({ start: now(), end: undefined, ok: undefined });
    } else if (e.type === 'refresh-success' || e.type === 'refresh-failure') {
      const r = state.refreshes.at(-1);
      if (r) Object.assign(r, { end: now(), ok: e.type === 'refresh-success' });
    } else if (e.type === 'retry') {
      state.counts.retries += 1;
    }
    draw();
  },
  onAuthFailure(info) {
    // The redirect hook: back to the login view, once per failed refresh.
    state.authFailures.push(info.reason);
    authFetch.clearTokens();
    showLogin(`Your session ended (${info.reason.replace('_', ' ')}${info.error ? `: ${info.error.message}` : ''}). Please log in again.`);
  },
});

function showLogin(message) {
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  $('login-message').hidden = !message;
  $('login-message').textContent = message ?? '';
}
function showApp() {
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('token').textContent = (authFetch.accessToken ?? '').slice(0, 14) + '…';
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const r = await fetch('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: form.get('username'), password: form.get('password') }),
  });
  const body = await r.json();
  if (!r.ok) return showLogin(body.error_description);
  authFetch.setTokens({ accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in });
  $('ttl').textContent = body.expires_in;
  showApp();
});
$('logout').onclick = () => {
  authFetch.clearTokens();
  showLogin('Logged out.');
};

let nextId = 0;
async function call(path, label = path) {
  const call = { id: ++nextId, label, start: now(), end: undefined, status: undefined, attempts: [] };
  state.calls.push(call);
  state.counts.requests += 1;
  try {
    const r = await authFetch(`${path}?call=${call.id}`);
    call.status = r.status;
    if (!r.ok) state.counts.failures += 1;
    return r.status;
  } catch (e) {
    call.status = 0;
    state.counts.failures += 1;
    return 0;
  } finally {
    call.end = now();
    draw();
    refreshServerStats();
    if (authFetch.accessToken) $('token').textContent = authFetch.accessToken.slice(0, 14) + '…';
  }
}

$('call-one').onclick = () => call('/api/data');
$('call-twenty').onclick = () => Promise.all(Array.from({ length: 20 }, () => call('/api/data')));
$('call-admin').onclick = () => call('/api/admin');
$('call-basic').onclick = () => call('/api/basic');
const knob = (path, body) =>
  fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
$('expire').onclick = () => knob('/demo/expire');
$('revoke').onclick = () => knob('/demo/revoke');
$('slow-refresh').onchange = (e) => knob('/demo/config', { refresh_delay_ms: e.target.checked ? 2000 : 0 });
$('failing-refresh').onchange = (e) => knob('/demo/config', { refresh_fail: e.target.checked });
$('latency').onchange = (e) => knob('/demo/config', { latency_ms: e.target.checked ? 300 : 0 });
$('clear').onclick = () => {
  state.calls.length = 0;
  state.refreshes.length = 0;
  draw();
};

async function refreshServerStats() {
  const r = await fetch('/demo/stats').catch(() => undefined);
  if (!r?.ok) return;
  const { stats } = await r.json();
  $('s-stats').textContent = `${stats.api_requests} API requests · ${stats.unauthorized} 401s · ${stats.refreshes} refresh${stats.refreshes === 1 ? "" : "es"}`;
}

// The timeline: the refresh lane on top, then one lane per call (the latest 40).
const COLORS = { attempt: '#8da2c8', wait: '#d9dee8', ok: '#2e9e5b', unauth: '#d64545', other: '#e09a2c', refresh: '#7b5cd6' };
let drawQueued = false;
function draw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    render();
  });
}
function render() {
  const svg = $('timeline');
  const calls = state.calls.slice(-40);
  const lane = 11;
  const top = 18;
  const height = top + (calls.length + 1) * lane + 8;
  svg.style.height = `${Math.max(height, 60)}px`;
  const width = svg.clientWidth || 800;
  const from = Math.min(...calls.map((c) => c.start), ...state.refreshes.map((r) => r.start), now());
  const to = Math.max(now(), ...calls.map((c) => c.end ?? now()));
  const span = Math.max(to - from, 50);
  const x = (t) => 70 + ((t - from) / span) * (width - 80);
  const parts = [];
  const rect = (x0, x1, y, h, color, title) =>
    parts.push(`<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(x1 - x0, 2).toFixed(1)}" height="${h}" fill="${color}"><title>${title}</title></rect>`);
  parts.push(`<text x="4" y="${top - 6}" font-size="10" fill="#4a5264">refresh</text>`);
  for (const r of state.refreshes) {
    rect(x(r.start), x(r.end ?? now()), top - 14, 9, r.ok === false ? COLORS.unauth : COLORS.refresh, `refresh ${r.ok === undefined ? 'running' : r.ok ? 'succeeded' : 'failed'}`);
  }
  calls.forEach((c, i) => {
    const y = top + i * lane;
    parts.push(`<text x="4" y="${y + 8}" font-size="9" fill="#6b7385">#${c.id} ${c.label.replace('/api/', '')}</text>`);
    rect(x(c.start), x(c.end ?? now()), y + 3, 3, COLORS.wait, `call #${c.id}`);
    for (const a of c.attempts) {
      rect(x(a.start), x(a.end ?? now()), y, 8, COLORS.attempt, `attempt of #${c.id}`);
      if (a.status !== undefined) {
        const color = a.status >= 200 && a.status < 300 ? COLORS.ok : a.status === 401 ? COLORS.unauth : COLORS.other;
        parts.push(`<circle cx="${x(a.end).toFixed(1)}" cy="${y + 4}" r="3.5" fill="${color}"><title>${a.status}</title></circle>`);
      }
    }
  });
  svg.innerHTML = parts.join('');
  for (const [id, key] of [['c-requests', 'requests'], ['c-401', 'unauthorized'], ['c-refreshes', 'refreshes'], ['c-retries', 'retries'], ['c-failures', 'failures']]) {
    $(id).textContent = state.counts[key];
  }
}

if (authFetch.accessToken) showApp();
else showLogin();
refreshServerStats();
render();
window.demoReady = true;
