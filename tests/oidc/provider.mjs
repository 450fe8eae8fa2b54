// A real authorization server for the OAuth tests: oidc-provider (the certified Node OpenID
// Provider) on 127.0.0.1 at a random port, with public SPA clients (code flow, PKCE, refresh
// tokens that rotate; `spa-dpop` gets DPoP-bound tokens only, with nonces required), its
// development login form, short access-token lifetimes, and a protected resource (`/api/…`, on
// the provider's origin and on an origin of its own, `api`) that accepts only live access tokens
// the provider issued and, for DPoP-bound ones, only with a valid proof of their key (checked
// with jose: signature, typ, alg, htm, htu, iat, jti, ath, its own nonce, the key thumbprint).
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';

/**
 * Starts the provider. `redirectUris`: the client's redirect URIs (the app's callback);
 * `accessTtl`: access-token lifetime in seconds; `control`: the `api` origin also serves the
 * demo's knobs (`POST /demo/expire`, `/demo/rotate-nonce`, `/demo/revoke`, `GET /demo/stats`).
 * `prefix`: the provider is mounted under this path and it is part of the issuer (as Keycloak's
 * `/realms/demo`); its metadata is then at `issuer + /.well-known/openid-configuration`, or, with
 * `only8414`, only at RFC 8414's `/.well-known/oauth-authorization-server` + prefix.
 * `clients`: more clients, as oidc-provider takes them (the backends-for-frontend of the session
 * tests are confidential clients with a secret).
 * For the provider profiles (tests/oidc/profiles.mjs), all optional, none changes the above:
 * `routes`: oidc-provider's `routes` (paths under the mount; the counters follow them);
 * `issuerPath`: the issuer's path when it is not the mount path (Entra's `/<tenant>/v2.0` with
 * endpoints under `/<tenant>/oauth2/v2.0/…`; Auth0's `/`, a trailing slash); `aliases`: exact
 * paths served as other paths (`{ '/t/v2.0/.well-known/openid-configuration':
 * '/t/.well-known/openid-configuration' }`); `metadata(json)`: rewrites the discovery document;
 * `configure(config)`: changes oidc-provider's configuration before it starts; `setup(provider,
 * stats)`: runs once it exists; `stepUpAcr`: the acr `/api/strong` asks for (default
 * 'urn:strong'); `stepUpChallenge(scheme, acr)`: the WWW-Authenticate value of its 401 instead.
 * Resolves with { issuer, origin, api, provider, stats, routes, rotateNonce(), revoke(rt), expire(), close() }.
 */
export async function startProvider({
  redirectUris, accessTtl = 60, control = false, prefix = '', only8414 = false, clients = [],
  routes = {}, issuerPath = prefix, aliases = {}, metadata, configure, setup, stepUpAcr = 'urn:strong', stepUpChallenge,
} = {}) {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const issuer = origin + issuerPath;
  // The provider's paths (under its mount), for the counters.
  const paths = { authorization: '/auth', token: '/token', revocation: '/token/revocation', end_session: '/session/end', ...routes };
  const config = {
    clients: ['spa', 'spa-dpop'].map((client_id) => ({
      client_id,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      application_type: 'web',
      dpop_bound_access_tokens: client_id === 'spa-dpop',
    })).concat(clients),
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
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    clientBasedCORS: () => true,
    ...(Object.keys(routes).length ? { routes } : {}),
  };
  const provider = new Provider(issuer, (await configure?.(config)) ?? config);
  if (metadata) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/.well-known/openid-configuration' && ctx.status === 200 && ctx.body) ctx.body = metadata({ ...ctx.body });
    });
  }
  // What the tests look at: the grants the token endpoint gave, by type, and which access
  // tokens count as expired (issued before `expiredBefore`).
  const stats = {
    grants: { authorization_code: 0, refresh_token: 0 }, presented: [], issued: [], revoked: 0, expiredBefore: 0,
    // Token endpoint requests (each attempt), and those answered use_dpop_nonce.
    tokenRequests: 0, tokenNonceChallenges: 0,
    // The resource: the DPoP proofs it accepted ({ htm, htu, nonce, jti, ath, jkt }), the 401s
    // it gave (the reason of each), and the step-ups it asked for.
    proofs: [], refused: [], stepUps: 0, apiRequests: 0,
    // The authorization requests (their URLs, issuer-relative), as the browser sent them.
    authorizations: [],
    // The end-session requests (RP-initiated logout), their URLs as sent.
    endSessions: [],
  };
  // The resource's DPoP nonce (RFC 9449 §9), changed by rotateNonce().
  let resourceNonce = randomBytes(16).toString('base64url');
  const seenJti = new Set();
  provider.on('grant.success', (ctx) => {
    const type = ctx.oidc.params.grant_type;
    stats.grants[type] = (stats.grants[type] ?? 0) + 1;
    if (ctx.oidc.params.refresh_token) stats.presented.push(ctx.oidc.params.refresh_token);
    if (ctx.body?.refresh_token) stats.issued.push(ctx.body.refresh_token);
  });
  provider.on('grant.error', (ctx, err) => {
    if (err.error === 'use_dpop_nonce') stats.tokenNonceChallenges += 1;
  });
  await setup?.(provider, stats);
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    if (req.url.startsWith('/api/')) return resource(req, res, origin);
    const [aliased, query] = req.url.split(/\?(.*)/s);
    if (aliases[aliased]) req.url = aliases[aliased] + (query === undefined ? '' : `?${query}`);
    if (prefix) {
      // Mounted under the issuer's path: the provider sees its own paths (and its mount path).
      const wellKnown = '/.well-known/oauth-authorization-server';
      if (only8414 && req.url.startsWith(`${prefix}/.well-known/`)) return res.writeHead(404).end();
      if (only8414 && req.url === wellKnown + prefix) {
        req.originalUrl = req.url;
        req.baseUrl = prefix;
        req.url = wellKnown;
      } else if (req.url.startsWith(`${prefix}/`)) {
        req.originalUrl = req.url;
        req.url = req.url.slice(prefix.length);
      } else {
        return res.writeHead(404).end();
      }
    }
    if (req.method === 'GET' && req.url.startsWith(`${paths.authorization}?`)) stats.authorizations.push(req.url);
    if (req.method === 'POST' && req.url.startsWith(paths.revocation)) stats.revoked += 1;
    if (req.method === 'POST' && req.url === paths.token) stats.tokenRequests += 1;
    if (req.url.split('?')[0] === paths.end_session) stats.endSessions.push(req.url);
    return callback(req, res);
  });
  const apiServer = createServer((req, res) => {
    if (control && req.url.startsWith('/demo/')) return knobs(req, res);
    return resource(req, res, api);
  });
  await new Promise((ok) => apiServer.listen(0, '127.0.0.1', ok));
  const api = `http://127.0.0.1:${apiServer.address().port}`;

  /**
   * The protected resource: 200 for a live access token the provider issued (a DPoP-bound one
   * with a valid proof of its key and the resource's current nonce), else 401. `/api/strong`
   * asks for a step-up (RFC 9470) from tokens of a login without acr 'urn:strong'.
   */
  async function resource(req, res, origin) {
    const cors = {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'authorization, dpop, content-type',
      'access-control-expose-headers': 'WWW-Authenticate, DPoP-Nonce',
    };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    stats.apiRequests += 1;
    const refuse = (challenge, why) => {
      stats.refused.push(why);
      res.writeHead(401, { ...cors, 'www-authenticate': challenge, 'dpop-nonce': resourceNonce, 'content-type': 'application/json' });
      res.end(JSON.stringify({ refused: why }));
    };
    const [, scheme, token] = /^(Bearer|DPoP) (.+)$/.exec(req.headers.authorization ?? '') ?? [];
    const at = token ? await provider.AccessToken.find(token) : undefined;
    if (!at || at.isExpired || at.iat < stats.expiredBefore) {
      return refuse(`${scheme === 'DPoP' ? 'DPoP algs="ES256"' : 'Bearer'}, error="invalid_token"`, 'invalid_token');
    }
    if (at.jkt) {
      if (scheme !== 'DPoP') return refuse('DPoP algs="ES256", error="invalid_token", error_description="a DPoP-bound token"', 'scheme');
      const proof = req.headers.dpop;
      if (!proof) return refuse('DPoP algs="ES256", error="invalid_dpop_proof", error_description="no proof"', 'no_proof');
      let payload, protectedHeader;
      try {
        ({ payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] }));
      } catch {
        return refuse('DPoP algs="ES256", error="invalid_dpop_proof"', 'signature');
      }
      const url = new URL(req.url, origin);
      const ath = createHash('sha256').update(token).digest('base64url');
      const checks = {
        htm: payload.htm === req.method,
        htu: payload.htu === origin + url.pathname,
        iat: Math.abs(Date.now() / 1000 - payload.iat) <= 60,
        jti: typeof payload.jti === 'string' && !seenJti.has(payload.jti),
        ath: payload.ath === ath,
      };
      const failed = Object.keys(checks).find((k) => !checks[k]);
      if (failed) return refuse(`DPoP algs="ES256", error="invalid_dpop_proof", error_description="${failed}"`, failed);
      seenJti.add(payload.jti);
      if (payload.nonce !== resourceNonce) return refuse('DPoP algs="ES256", error="use_dpop_nonce"', 'use_dpop_nonce');
      const jkt = await calculateJwkThumbprint(protectedHeader.jwk);
      if (jkt !== at.jkt) return refuse('DPoP algs="ES256", error="invalid_dpop_proof", error_description="another key"', 'binding');
      stats.proofs.push({ htm: payload.htm, htu: payload.htu, nonce: payload.nonce, jti: payload.jti, ath: payload.ath, jkt });
    } else if (scheme !== 'Bearer') {
      return refuse('Bearer error="invalid_token"', 'scheme');
    }
    // The login's acr: on the token, or among its extra claims (profiles.mjs puts it there).
    if (req.url.startsWith('/api/strong') && (at.acr ?? at.extra?.acr) !== stepUpAcr) {
      stats.stepUps += 1;
      const scheme = at.jkt ? 'DPoP' : 'Bearer';
      return refuse(stepUpChallenge?.(scheme, stepUpAcr) ?? `${scheme} error="insufficient_user_authentication", acr_values="${stepUpAcr}", max_age="300"`, 'step_up');
    }
    res.writeHead(200, { ...cors, 'dpop-nonce': resourceNonce, 'content-type': 'application/json' });
    res.end(JSON.stringify({ sub: at.accountId, path: req.url }));
  }

  /** The demo's knobs and counters (with `control`). */
  async function knobs(req, res) {
    const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type' };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const path = req.url.split('?')[0];
    if (req.method === 'POST' && path === '/demo/expire') await handle.expire();
    else if (req.method === 'POST' && path === '/demo/rotate-nonce') handle.rotateNonce();
    else if (req.method === 'POST' && path === '/demo/revoke') await handle.revoke(stats.issued.at(-1));
    else if (req.method === 'POST' && path === '/demo/reset') Object.assign(stats, { apiRequests: 0, proofs: [], refused: [], tokenNonceChallenges: 0, grants: { authorization_code: 0, refresh_token: 0 } });
    else if (req.method !== 'GET' || path !== '/demo/stats') return res.writeHead(404, cors).end();
    res.writeHead(200, { ...cors, 'content-type': 'application/json' });
    res.end(JSON.stringify({
      stats: {
        api_requests: stats.apiRequests,
        unauthorized: stats.refused.length,
        refreshes: stats.grants.refresh_token,
        logins: stats.grants.authorization_code,
        proofs: stats.proofs.length,
        nonce_challenges: stats.refused.filter((r) => r === 'use_dpop_nonce').length + stats.tokenNonceChallenges,
      },
    }));
  }

  const handle = {
    issuer,
    origin,
    api,
    provider,
    stats,
    /** The provider's paths (under its mount), with oidc-provider's defaults. */
    routes: paths,
    /** The resource starts asking for a new DPoP nonce. */
    rotateNonce: () => {
      resourceNonce = randomBytes(16).toString('base64url');
      return resourceNonce;
    },
    /** Revokes `refreshToken` (and so its whole grant) at the revocation endpoint. */
    revoke: async (refreshToken) => fetch(`${origin}${prefix}${paths.revocation}`, {
      method: 'POST',
      body: new URLSearchParams({
        token: refreshToken,
        client_id: (await provider.RefreshToken.find(refreshToken))?.clientId ?? 'spa',
      }),
    }),
    /** Every access token issued so far stops being accepted by the resource. */
    expire: async () => {
      // Tokens carry their issue time in whole seconds: wait for the next second, so that
      // every token issued so far is older than the mark and every later one is not.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 10));
      stats.expiredBefore = Math.floor(Date.now() / 1000);
    },
    close: () => Promise.all([server, apiServer].map((s) => new Promise((ok) => {
      s.closeAllConnections?.();
      s.close(ok);
    }))),
  };
  return handle;
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

/**
 * In a Chromium page (Playwright) whose app has `window.af` with `oauth`: starts the login,
 * fills the development login form (or cancels it with `abort`), and waits until the app is
 * back at `callback` and has set `window.result`; resolves with that result.
 */
export async function logInInPage(page, { issuer, callback, login = 'bob', abort = false, prompt }) {
  // Not awaited in the page: the navigation replaces it. `prompt: 'login'` shows the form
  // again to a browser that has a login session at the provider.
  await page.evaluate((p) => { window.af.login({ returnTo: '/done', ...(p ? { prompt: p } : {}) }); }, prompt);
  await page.waitForURL(`${issuer}/**`);
  await page.waitForSelector('input[name=login]');
  if (abort) {
    await page.click('a[href*="abort"]');
  } else {
    await page.fill('input[name=login]', login);
    await page.fill('input[name=password]', 'secret');
    await page.click('button[type=submit]');
  }
  // Back at the callback: with the code, or already without it (the app strips the query at
  // once, and over WebDriver the URL is only polled).
  await page.waitForURL(new RegExp(`^${callback.replace(/[.?*+^$()[\]{}|\\]/g, '\\$&')}`));
  await page.waitForFunction(() => window.result !== undefined);
  return page.evaluate(() => window.result);
}
