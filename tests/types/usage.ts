// Type-checked with `tsc --noEmit --strict` (tests/js/types.test.mjs): the OAuth build's .d.ts
// describes the API precisely (no `any` for options, hooks or results).
import init, {
  createAuthFetch,
  parseChallenges,
  type AuthEvent,
  type AuthFailure,
  type AuthFetch,
  type Challenge,
  type RefreshContext,
  type StepUpInfo,
  type TokenSet,
} from 'reauth/oauth';
import ky from 'ky';

await init();

const challenges: Challenge[] = parseChallenges('Bearer error="invalid_token"');
const firstParam: [string, string] | undefined = challenges[0]?.params[0];
const token68: string | null = challenges[0]?.token68 ?? null;

const authFetch: AuthFetch = createAuthFetch({
  origins: ['https://api.example.com'],
  async refresh(ctx: RefreshContext): Promise<TokenSet> {
    const { refreshToken, fetch, signal } = ctx;
    const seen: Challenge[] = ctx.challenges;
    const r = await fetch('https://auth.example.com/token', {
      method: 'POST',
      body: JSON.stringify({ refreshToken, scheme: seen[0]?.scheme }),
      signal,
    });
    const j = (await r.json()) as { access_token: string; refresh_token?: string; expires_in?: number };
    return { accessToken: j.access_token, refreshToken: j.refresh_token, expiresIn: j.expires_in };
  },
  onAuthFailure(info: AuthFailure) {
    const url: string = info.url;
    if (info.reason === 'logout') {
      // @ts-expect-error a logout has no response
      const none: Response = info.response;
      void none;
      return;
    }
    if (info.reason === 'dpop_key_lost') {
      const code: string = info.error.code;
      void code;
      return;
    }
    const reason: 'refresh_failed' | 'refresh_timeout' | 'retry_unauthorized' = info.reason;
    // @ts-expect-error a refresh no 401 had joined has no response
    const sure: number = info.response.status;
    const status: number | undefined = info.response?.status;
    void sure;
    void [reason, status, url, info.error];
  },
  storage: 'local',
  storageKey: 'my-app',
  crossTab: true,
  lockTimeoutMs: 3000,
  refreshSkewMs: 60_000,
  refreshTimeoutMs: 5000,
  shouldRefresh: (response, cs) => response.status === 401 && cs.length === 0,
  onEvent(e: AuthEvent) {
    if (e.type === 'refresh-failure') {
      const why: 'refresh_failed' | 'refresh_timeout' | 'dpop_key_lost' = e.reason;
      void why;
    }
  },
});

// OAuth built in: no refresh hook needed.
const oauthFetch: AuthFetch = createAuthFetch({
  oauth: { issuer: 'https://auth.example.com', clientId: 'spa', redirectUri: 'https://app.example.com/cb', scope: 'openid offline_access' },
  origins: ['https://api.example.com'],
});
const loginUrl: string = await oauthFetch.authorizationUrl({ returnTo: '/home', acrValues: 'mfa', maxAge: 300 });
const { returnTo }: { returnTo: string | null } = await oauthFetch.completeLogin();
await oauthFetch.login({ prompt: 'login' });
await oauthFetch.logout();
void [loginUrl, returnTo];
// @ts-expect-error oauth needs a clientId
createAuthFetch({ oauth: { issuer: 'https://auth.example.com' } });
// @ts-expect-error cookie sessions are reauth/bff's: no bff option here
createAuthFetch({ bff: 'duende' });
// @ts-expect-error and no session()
void oauthFetch.session;

// DPoP-bound tokens and step-up.
createAuthFetch({
  oauth: { issuer: 'https://auth.example.com', clientId: 'spa' },
  dpop: true,
  storage: 'session',
  onStepUp(info: StepUpInfo) {
    const acr: string | null = info.acrValues;
    const age: number | null = info.maxAge;
    const status: number = info.response.status;
    void [acr, age, status, info.url];
  },
  onEvent(e) {
    if (e.type === 'retry' && e.reason === 'use_dpop_nonce') void e.url;
    if (e.type === 'step-up') void e.url;
  },
});
// @ts-expect-error DPoP needs the built-in refresh grant: no refresh hook
createAuthFetch({ oauth: { issuer: 'https://auth.example.com', clientId: 'spa' }, refresh: async () => 't', dpop: true });
// @ts-expect-error DPoP needs oauth
createAuthFetch({ refresh: async () => 't', dpop: true });

// A string result is accepted from refresh too.
createAuthFetch({ refresh: async () => 'new-access-token', origins: ['https://api.example.com'] });

const res: Response = await authFetch('/api/items', { method: 'POST', body: '{}' });
await authFetch(new URL('https://api.example.com/x'));
await authFetch(new Request('https://api.example.com/y'));
authFetch.setTokens({ accessToken: 'a', refreshToken: 'r', expiresIn: 60 });
authFetch.clearTokens();
const current: string | null = authFetch.accessToken;

// A drop-in fetch for other clients.
const api = ky.create({ fetch: authFetch, prefixUrl: 'https://api.example.com' });
const plain: typeof fetch = authFetch;

// @ts-expect-error accessToken is read-only
authFetch.accessToken = 'x';
// @ts-expect-error refresh is required
createAuthFetch({ origins: [] });
// @ts-expect-error storage is one of three names
createAuthFetch({ refresh: async () => 'x', storage: 'cookie' });
// @ts-expect-error refresh must give tokens
createAuthFetch({ refresh: async () => 42 });
// @ts-expect-error setTokens needs an access token
authFetch.setTokens({ refreshToken: 'r' });

void [firstParam, token68, res, current, api, plain];

// null from refresh: the session is over.
const ended = createAuthFetch({
  refresh: async ({ fetch }) => ((await fetch('/token', { method: 'POST' })).status === 400 ? null : 'new-access-token'),
});
// ready: a promise of nothing, awaited before reading accessToken in a route guard.
async function guard(): Promise<boolean> {
  const nothing: void = await ended.ready;
  return nothing === undefined && ended.accessToken !== null;
}
void guard;
// @ts-expect-error ready is read-only
ended.ready = Promise.resolve();
