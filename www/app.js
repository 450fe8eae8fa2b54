// The demo page: one authFetch, a login form, the server's knobs, and a timeline of every
// attempt, wait and refresh, drawn as SVG. In OIDC mode (`./scripts/demo.sh --oidc` opens it
// with ?oidc=<issuer>&api=<api>) the same page logs in through oidc-provider with PKCE and
// DPoP-bound tokens, against an API that checks every proof. In BFF mode (`./scripts/demo.sh
// --bff` opens it with ?bff=1, served by the BFF) it is a cookie-session app: no token in the
// page, the BFF's session refreshed with one POST for any number of 401s.

// The mode is kept for the tab: a login sends the browser back to `/`.
const query = new URLSearchParams(location.search);
if (query.has('oidc')) {
  sessionStorage.setItem('reauth-demo-oidc', JSON.stringify({ issuer: query.get('oidc'), api: query.get('api') }));
}
if (query.has('bff')) sessionStorage.setItem('reauth-demo-bff', '1');
const oidc = JSON.parse(sessionStorage.getItem('reauth-demo-oidc') ?? 'null');
const bff = !oidc && sessionStorage.getItem('reauth-demo-bff') === '1';

// Each mode loads the build it needs: the OAuth build (OAuth and DPoP), the cookie-session
// build (the BFF), or the core (the page's own refresh hook).
const { default: init, createAuthFetch } = await import(oidc ? '/pkg/oauth.js' : bff ? '/pkg/bff.js' : '/pkg/index.js');
await init();
const api = oidc?.api ?? '';
const control = oidc ? `${oidc.api}/demo` : '/demo';
for (const el of document.querySelectorAll('.oidc-only')) el.hidden = !oidc;
for (const el of document.querySelectorAll('.bff-only')) el.hidden = !bff;
for (const el of document.querySelectorAll('.plain-only')) el.hidden = Boolean(oidc) || bff;
for (const el of document.querySelectorAll('.tokens-only')) el.hidden = bff;

const $ = (id) => document.getElementById(id);
const t0 = performance.now();
const now = () => performance.now() - t0;

// What the page shows, also read by the end-to-end tests.
const state = {
  calls: [], // { id, label, start, end, status, attempts: [{ start, end, status }] }
  refreshes: [], // { start, end, ok }
  counts: { requests: 0, unauthorized: 0, refreshes: 0, retries: 0, failures: 0, proofs: 0, nonceRetries: 0 },
  authFailures: [],
};
window.demo = state;

// Every attempt authFetch makes goes through here, so the timeline sees first attempts and
// retries alike. The refresh request (to /auth/) is drawn on the refresh lane instead.
function callOf(url) {
  const id = Number(new URL(url, location.href).searchParams.get('call'));
  return state.calls.find((c) => c.id === id);
}
/** Whether an init carries a DPoP proof (the headers authFetch made: a record, a Headers or
 * pairs). */
function hasProof(init) {
  const h = init?.headers;
  if (!h) return false;
  if (h instanceof Headers) return h.has('dpop');
  if (Array.isArray(h)) return h.some(([k]) => k.toLowerCase() === 'dpop');
  return Object.keys(h).some((k) => k.toLowerCase() === 'dpop');
}
async function instrumentedFetch(input, init) {
  const url = typeof input === 'string' ? input : input.url ?? String(input);
  const toAuthServer = oidc ? url.startsWith(oidc.issuer) : url.includes(bff ? '/bff/' : '/auth/');
  const call = toAuthServer ? undefined : callOf(url);
  const attempt = { start: now(), end: undefined, status: undefined, proof: hasProof(init) };
  if (attempt.proof) state.counts.proofs += 1;
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

const shared = {
  fetch: instrumentedFetch,
  ...(bff ? {} : { storage: 'session' }),
  storageKey: oidc ? 'reauth-demo-oidc' : bff ? 'reauth-demo-bff' : 'reauth-demo',
};
// BFF mode: Duende's endpoints, and the session refreshed by the page (this BFF's API answers
// 401 once the session's access token expired).
const bffOptions = bff && { bff: { preset: 'duende', refreshUrl: '/bff/refresh' } };
// OIDC mode: the built-in refresh grant, DPoP, and a step-up hook that says what the API asked.
const oauthOptions = oidc && {
  oauth: { issuer: oidc.issuer, clientId: 'spa-dpop', redirectUri: `${location.origin}/`, scope: 'openid offline_access' },
  dpop: true,
  origins: [oidc.api],
  onStepUp(info) {
    $('last-challenge').textContent = `The API asks for a step-up (RFC 9470): acr_values="${info.acrValues}", max_age=${info.maxAge}. authFetch.login({ acrValues, maxAge }) would start it.`;
  },
};
const ownRefresh = {
  // No `signal` on the token request: an answer that comes after the timeout may carry a rotated
  // refresh token, and reauth still installs it.
  async refresh({ refreshToken, fetch, challenges }) {
    $('last-challenge').textContent = challenges.length
      ? `The 401 said: ${challenges.map((c) => `${c.scheme} ${c.params.map(([k, v]) => `${k}="${v}"`).join(', ')}`).join('; ')}`
      : 'The 401 had no WWW-Authenticate challenge.';
    const r = await fetch('/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(`${body.error}: ${body.error_description}`);
    return { accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in };
  },
};
const authFetch = createAuthFetch({
  ...shared,
  ...(oauthOptions || bffOptions || ownRefresh),
  onEvent(e) {
    if (e.type === 'refresh-start') {
      state.counts.refreshes += 1;
      state.refreshes.push({ start: now(), end: undefined, ok: undefined });
    } else if (e.type === 'refresh-success' || e.type === 'refresh-failure') {
      const r = state.refreshes.at(-1);
      if (r) Object.assign(r, { end: now(), ok: e.type === 'refresh-success' });
    } else if (e.type === 'retry' && e.reason === 'use_dpop_nonce') {
      state.counts.nonceRetries += 1;
      $('last-challenge').textContent = 'The API asked for a new DPoP nonce (use_dpop_nonce): the request went again with it, no refresh.';
    } else if (e.type === 'retry') {
      state.counts.retries += 1;
    }
    draw();
  },
  onAuthFailure(info) {
    // The redirect hook: back to the login view, once per failed refresh.
    state.authFailures.push(info.reason);
    if (!bff) authFetch.clearTokens();
    showLogin(`Your session ended (${info.reason.replace('_', ' ')}${info.error ? `: ${info.error.message}` : ''}). Please log in again.`);
  },
});

function showLogin(message) {
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  $('login-message').hidden = !message;
  $('login-message').textContent = message ?? '';
}
function showApp(claims) {
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  if (bff) $('user').textContent = claims?.sub ?? '';
  else $('token').textContent = (authFetch.accessToken ?? '').slice(0, 14) + '…';
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
$('oidc-login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  authFetch.login();
});
$('bff-login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  authFetch.login({ returnTo: '/' });
});
$('logout').onclick = async () => {
  if (bff) return authFetch.logout({ returnTo: '/' });
  if (oidc) await authFetch.logout();
  else authFetch.clearTokens();
  showLogin('Logged out.');
};

let nextId = 0;
async function call(path, label = path) {
  const call = { id: ++nextId, label, start: now(), end: undefined, status: undefined, attempts: [] };
  state.calls.push(call);
  state.counts.requests += 1;
  try {
    const r = await authFetch(`${api}${path}?call=${call.id}`);
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
$('call-strong').onclick = () => call('/api/strong');
const knob = (path, body) =>
  fetch(`${control}${path}`, oidc ? { method: 'POST' } : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
$('expire').onclick = () => knob('/expire');
$('revoke').onclick = () => knob('/revoke');
$('rotate-nonce').onclick = () => knob('/rotate-nonce');
$('slow-refresh').onchange = (e) => knob('/config', { refresh_delay_ms: e.target.checked ? 2000 : 0 });
$('failing-refresh').onchange = (e) => knob('/config', { refresh_fail: e.target.checked });
$('latency').onchange = (e) => knob('/config', { latency_ms: e.target.checked ? 300 : 0 });
$('clear').onclick = () => {
  state.calls.length = 0;
  state.refreshes.length = 0;
  draw();
};

async function refreshServerStats() {
  const r = await fetch(`${control}/stats`).catch(() => undefined);
  if (!r?.ok) return;
  const { stats } = await r.json();
  const proofs = oidc ? ` · ${stats.proofs} proofs checked · ${stats.nonce_challenges} nonce challenges` : '';
  $('s-stats').textContent = `${stats.api_requests} API requests · ${stats.unauthorized} 401s · ${stats.refreshes} refresh${stats.refreshes === 1 ? "" : "es"}${proofs}`;
}

// The timeline: the refresh lane on top, then one lane per call (the latest 40).
const COLORS = { attempt: '#8da2c8', wait: '#d9dee8', ok: '#2e9e5b', unauth: '#d64545', other: '#e09a2c', refresh: '#7b5cd6', proof: '#c9a227' };
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
      rect(x(a.start), x(a.end ?? now()), y, 8, COLORS.attempt, `attempt of #${c.id}${a.proof ? ' with a DPoP proof' : ''}`);
      if (a.proof) rect(x(a.start), x(a.start) + 3, y, 8, COLORS.proof, 'a fresh DPoP proof');
      if (a.status !== undefined) {
        const color = a.status >= 200 && a.status < 300 ? COLORS.ok : a.status === 401 ? COLORS.unauth : COLORS.other;
        parts.push(`<circle cx="${x(a.end).toFixed(1)}" cy="${y + 4}" r="3.5" fill="${color}"><title>${a.status}</title></circle>`);
      }
    }
  });
  svg.innerHTML = parts.join('');
  for (const [id, key] of [['c-requests', 'requests'], ['c-401', 'unauthorized'], ['c-refreshes', 'refreshes'], ['c-retries', 'retries'], ['c-failures', 'failures'], ['c-proofs', 'proofs'], ['c-nonce', 'nonceRetries']]) {
    $(id).textContent = state.counts[key];
  }
}

if (oidc) {
  $('issuer').textContent = oidc.issuer;
  $('issuer').href = `${oidc.issuer}/.well-known/openid-configuration`;
  if (query.has('code') || query.has('error')) {
    try {
      await authFetch.completeLogin();
      $('ttl').textContent = '20';
    } catch (e) {
      showLogin(`The login did not complete (${e.code ?? e.message}).`);
    }
    history.replaceState(null, '', '/');
  }
}
const claims = bff ? await authFetch.session() : null;
if (authFetch.accessToken || claims) showApp(claims);
else if ($('login-view').hidden) showLogin();
refreshServerStats();
render();
window.demoReady = true;
