// The cookie-session build (`reauth/bff`): cookie sessions behind a backend-for-frontend, and
// the core's refresh hook; nothing of OAuth or DPoP. reauth/bff/inline has the same API and types.
import init, { createAuthFetch, initSync, type AuthFetch, type AuthFetchOptions, type BffOptions } from 'reauth/bff';
import * as inline from 'reauth/bff/inline';

// Cookie sessions behind a backend-for-frontend: no refresh hook needed.
const session = createAuthFetch({ bff: 'duende', onAuthFailure: (f) => f.returnTo });
const claims: Promise<Record<string, unknown> | null> = session.session();
const back: Promise<{ returnTo: string | null }> = session.completeLogin();
void claims;
void back;
void session.login({ returnTo: '/orders' });
void session.logout();
const agent: BffOptions = { preset: 'oauth-agent', url: 'https://bff.example.com/oauth-agent', csrfHeader: 'x-shop-csrf' };
createAuthFetch({ bff: agent, origins: ['https://bff.example.com'] });
createAuthFetch({ bff: { preset: 'curity', url: 'https://api.example.com/oauthagent/example' } });
// @ts-expect-error 'token-handler' is two presets now
createAuthFetch({ bff: 'token-handler' });
createAuthFetch({ bff: { headers: { 'X-CSRF': '1' }, refreshUrl: null, userUrl: '/me' }, refresh: async () => true });
// @ts-expect-error no such preset
createAuthFetch({ bff: 'auth0' });

// Tokens with a refresh hook, as in the core; the session members are there (they reject
// without bff).
const tokens: AuthFetch = createAuthFetch({ refresh: async () => 'token', origins: ['https://api.example.com'] });
const none: Promise<Record<string, unknown> | null> = tokens.session();
void none;
// @ts-expect-error and a refresh hook or bff is required
createAuthFetch({ origins: ['https://api.example.com'] });
// @ts-expect-error OAuth is reauth/oauth's
createAuthFetch({ oauth: { issuer: 'https://auth.example.com', clientId: 'spa' } });
// @ts-expect-error and DPoP
createAuthFetch({ bff: 'duende', dpop: true });
// @ts-expect-error no authorizationUrl (reauth/oauth's)
void session.authorizationUrl;

// reauth/bff/inline: the same values' types.
const sameInit: typeof init = inline.default;
const sameInitSync: typeof initSync = inline.initSync;
const sameCreate: typeof createAuthFetch = inline.createAuthFetch;
const options: AuthFetchOptions = { bff: 'duende' } satisfies inline.AuthFetchOptions;
void [sameInit, sameInitSync, sameCreate, options];
