// Each contender set up as its own documentation recommends, behind one interface:
// make(env) resolves with call(url) → Promise<status>, where env = { base, fetch, tokens,
// onFailure }. `tokens` ({ access, refresh }) is the app's token store; `onFailure` is the
// app's logout/redirect. Every choice is written down in BENCHMARKS.md.

/** The token request every contender's refresh logic makes (its own fetch where it has one). */
export async function tokenRequest(fetchFn, base, refreshToken) {
  const r = await fetchFn(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken }),
  });
  if (!r.ok) throw new Error(`token endpoint answered ${r.status}`);
  return r.json();
}

async function readStatus(response) {
  await response.arrayBuffer();
  return response.status;
}

async function refreshInto(env, fetchFn = env.fetch) {
  const t = await tokenRequest(fetchFn, env.base, env.tokens.refresh);
  env.tokens.access = t.access_token;
  env.tokens.refresh = t.refresh_token;
  return t;
}

export const peers = {
  'raw fetch': async (env) => (url) =>
    env.fetch(url, { headers: { authorization: `Bearer ${env.tokens.access}` } }).then(readStatus),

  reauth: async (env) => {
    // REAUTH_PKG=path/to/node.js measures another build (an A/B of two versions).
    const { createAuthFetch } = await import(process.env.REAUTH_PKG ?? '../pkg/node.js');
    const authFetch = createAuthFetch({
      origins: [env.base],
      fetch: env.fetch,
      async refresh(ctx) {
        const t = await tokenRequest(ctx.fetch, env.base, ctx.refreshToken);
        return { accessToken: t.access_token, refreshToken: t.refresh_token };
      },
      onAuthFailure: () => env.onFailure(),
    });
    authFetch.setTokens({ accessToken: env.tokens.access, refreshToken: env.tokens.refresh });
    return (url) => authFetch(url).then(readStatus);
  },

  'axios + axios-auth-refresh': async (env, options = {}) => {
    const { default: axios } = await import('axios');
    const { default: createAuthRefreshInterceptor } = await import('axios-auth-refresh');
    // axios's fetch adapter, so the same fetch is injected as for everyone else.
    const instance = axios.create({ adapter: 'fetch', env: { fetch: env.fetch } });
    instance.interceptors.request.use((config) => {
      config.headers.Authorization = `Bearer ${env.tokens.access}`;
      return config;
    });
    // The README's refreshAuthLogic: get a token, set it on the failed request.
    createAuthRefreshInterceptor(instance, async (failedRequest) => {
      try {
        const t = await refreshInto(env);
        failedRequest.response.config.headers.Authorization = `Bearer ${t.access_token}`;
      } catch (e) {
        env.onFailure();
        throw e;
      }
    }, options);
    return (url) => instance.get(url, { responseType: 'arraybuffer' }).then((r) => r.status);
  },

  'axios + axios-auth-refresh (deduplicateRefresh: false)': (env) =>
    peers['axios + axios-auth-refresh'](env, { deduplicateRefresh: false }),

  'ky (README 401 recipe)': async (env) => {
    const { default: ky } = await import('ky');
    const api = ky.create({
      fetch: env.fetch,
      hooks: {
        beforeRequest: [(request) => request.headers.set('Authorization', `Bearer ${env.tokens.access}`)],
        afterResponse: [
          async (request, _options, response) => {
            if (response.status === 401) {
              // "Get a fresh token, retry with the token" (ky's README, afterResponse).
              try {
                await refreshInto(env);
              } catch (e) {
                env.onFailure();
                throw e;
              }
              request.headers.set('Authorization', `Bearer ${env.tokens.access}`);
              return ky(request, { fetch: env.fetch });
            }
          },
        ],
      },
    });
    return (url) => api.get(url).then(readStatus);
  },

  'ofetch (retryStatusCodes [401] + onResponseError)': async (env) => {
    const { createFetch } = await import('ofetch');
    const api = createFetch({ fetch: env.fetch }).create({
      retry: 1,
      retryDelay: 0,
      retryStatusCodes: [401],
      onRequest({ options }) {
        options.headers = new Headers(options.headers);
        options.headers.set('Authorization', `Bearer ${env.tokens.access}`);
      },
      async onResponseError({ response }) {
        if (response.status === 401) {
          try {
            await refreshInto(env);
          } catch (e) {
            env.onFailure();
          }
        }
      },
    });
    return (url) => api.raw(url, { responseType: 'arrayBuffer' }).then((r) => r.status);
  },

  'OAuth2Fetch (@badgateway/oauth2-client)': async (env) => {
    const { OAuth2Client, OAuth2Fetch } = await import('@badgateway/oauth2-client');
    const client = new OAuth2Client({ server: `${env.base}/`, tokenEndpoint: '/token', clientId: 'bench', fetch: env.fetch });
    const wrapper = new OAuth2Fetch({
      client,
      getNewToken: () => null, // no way to log in again without the user
      getStoredToken: () => ({ accessToken: env.tokens.access, refreshToken: env.tokens.refresh, expiresAt: null }),
      storeToken: (t) => {
        env.tokens.access = t.accessToken;
        env.tokens.refresh = t.refreshToken;
      },
      onError: () => env.onFailure(),
      scheduleRefresh: false,
    });
    return (url) => wrapper.fetch(url).then(readStatus);
  },

  'hand-written wrapper': async (env) => {
    // The blog-post kind: a module-level refresh promise, retry once.
    let refreshing = null;
    const send = (url) => env.fetch(url, { headers: { authorization: `Bearer ${env.tokens.access}` } });
    return async (url) => {
      let response = await send(url);
      if (response.status === 401) {
        refreshing ??= refreshInto(env).finally(() => {
          refreshing = null;
        });
        try {
          await refreshing;
        } catch (e) {
          env.onFailure();
          throw e;
        }
        response = await send(url);
      }
      return readStatus(response);
    };
  },
};
