// A real authorization server for the OAuth tests: oidc-provider (the certified Node OpenID
// Provider) on 127.0.0.1 at a random port, with a public SPA client (code flow, PKCE, refresh
// tokens that rotate), its development login form, short access-token lifetimes, and a
// protected resource (`/api/…`) that accepts only live access tokens the provider issued.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

/**
 * Starts the provider. `redirectUris`: the client's redirect URIs (the app's callback);
 * `accessTtl`: access-token lifetime in seconds. Resolves with
 * { issuer, provider, api: (path) => URL, close() }.
 */
export async function startProvider({ redirectUris, accessTtl = 60 } = {}) {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'spa',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      application_type: 'web',
    }],
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'api'],
    findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
    // The test client's grant is given at login: no consent screen.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(ctx.oidc.params.scope ?? 'openid');
      await grant.save();
      return grant;
    },
    // oidc-provider drops offline_access unless the flow had prompt=consent: issue refresh
    // tokens to this client anyway.
    issueRefreshToken: () => true,
    rotateRefreshToken: true,
    ttl: { AccessToken: accessTtl, AuthorizationCode: 60, RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600 },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => false },
    },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    clientBasedCORS: () => true,
  });
  // What the tests look at: the grants the token endpoint gave, by type, and which access
  // tokens count as expired (issued before `expiredBefore`).
  const stats = { grants: { authorization_code: 0, refresh_token: 0 }, presented: [], issued: [], revoked: 0, expiredBefore: 0 };
  provider.on('grant.success', (ctx) => {
    const type = ctx.oidc.params.grant_type;
    stats.grants[type] = (stats.grants[type] ?? 0) + 1;
    if (ctx.oidc.params.refresh_token) stats.presented.push(ctx.oidc.params.refresh_token);
    if (ctx.body?.refresh_token) stats.issued.push(ctx.body.refresh_token);
  });
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    if (req.url.startsWith('/api/')) return resource(req, res);
    if (req.method === 'POST' && req.url.startsWith('/token/revocation')) stats.revoked += 1;
    return callback(req, res);
  });

  /** The protected resource: 200 for a live access token the provider issued, else 401. */
  async function resource(req, res) {
    const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*', 'access-control-expose-headers': 'WWW-Authenticate' };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    const at = token ? await provider.AccessToken.find(token) : undefined;
    if (!at || at.isExpired || at.iat < stats.expiredBefore) {
      res.writeHead(401, { ...cors, 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: 'invalid_token' }));
    }
    res.writeHead(200, { ...cors, 'content-type': 'application/json' });
    res.end(JSON.stringify({ sub: at.accountId, path: req.url }));
  }

  return {
    issuer,
    provider,
    stats,
    /** Revokes `refreshToken` (and so its whole grant) at the revocation endpoint. */
    revoke: (refreshToken) => fetch(`${issuer}/token/revocation`, {
      method: 'POST',
      body: new URLSearchParams({ token: refreshToken, client_id: 'spa' }),
    }),
    /** Every access token issued so far stops being accepted by the resource. */
    expire: async () => {
      // Tokens carry their issue time in whole seconds: wait for the next second, so that
      // every token issued so far is older than the mark and every later one is not.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 10));
      stats.expiredBefore = Math.floor(Date.now() / 1000);
    },
    close: () => new Promise((ok) => {
      server.closeAllConnections?.();
      server.close(ok);
    }),
  };
}

/**
 * Logs in through the development login form as a browser would, with a cookie jar: follows
 * redirects from `authorizationUrl` until the provider sends the browser to the redirect URI,
 * and returns that URL (with `code` and `state`, or `error`).
 */
export async function loginWithForm(authorizationUrl, { login = 'alice', redirectPrefix, abort = false } = {}) {
  const jar = new Map();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (res) => {
    for (const c of res.headers.getSetCookie?.() ?? []) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
  };
  let url = authorizationUrl;
  let init = {};
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(redirectPrefix)) return url;
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, cookie: cookie() } });
    keep(res);
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url).href;
      init = {};
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no form at ${url}: ${res.status} ${html.slice(0, 200)}`);
    if (abort) {
      const link = /href="([^"]*abort[^"]*)"/.exec(html)?.[1];
      url = new URL(link, url).href;
      continue;
    }
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    url = new URL(action, url).href;
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ prompt, login, password: 'x' }).toString(),
    };
  }
  throw new Error('too many redirects');
}
