// The core build (`reauth`): its types take a refresh hook and know nothing of OAuth or DPoP.
import { createAuthFetch, type AuthFailureReason, type AuthFetchOptions } from 'reauth';

const af = createAuthFetch({ refresh: async () => 'token', origins: ['https://api.example.com'] });
const ready: Promise<void> = af.ready;
void ready;
// @ts-expect-error the core has no OAuth methods (they are reauth/oauth's)
void af.authorizationUrl;
// @ts-expect-error the core takes no oauth option
createAuthFetch({ refresh: async () => 'token', oauth: { issuer: 'https://auth.example.com', clientId: 'spa' } });
// @ts-expect-error nor dpop
createAuthFetch({ refresh: async () => 'token', dpop: true });
// @ts-expect-error and needs a refresh hook
createAuthFetch({ origins: ['https://api.example.com'] });
// @ts-expect-error a key loss is DPoP's
const lost: AuthFailureReason = 'dpop_key_lost';
void lost;
const options: AuthFetchOptions = { refresh: () => null, onStepUp: (info) => info.acrValues };
void options;

// Cookie sessions behind a backend-for-frontend: no refresh hook needed.
const session = createAuthFetch({ bff: 'duende', onAuthFailure: (f) => f.returnTo });
const claims: Promise<Record<string, unknown> | null> = session.session();
const back: Promise<{ returnTo: string | null }> = session.completeLogin();
void claims;
void back;
void session.login({ returnTo: '/orders' });
void session.logout();
createAuthFetch({
  bff: { preset: 'oauth-agent', url: 'https://bff.example.com/oauth-agent', csrfHeader: 'x-shop-csrf' },
  origins: ['https://bff.example.com'],
});
createAuthFetch({ bff: { preset: 'curity', url: 'https://api.example.com/oauthagent/example' } });
// @ts-expect-error 'token-handler' is two presets now
createAuthFetch({ bff: 'token-handler' });
createAuthFetch({ bff: { headers: { 'X-CSRF': '1' }, refreshUrl: null, userUrl: '/me' }, refresh: async () => true });
// @ts-expect-error no such preset
createAuthFetch({ bff: 'auth0' });
