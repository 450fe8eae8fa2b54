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

// Cookie sessions are reauth/bff's (tests/types/bff.ts): the core takes no bff option and its
// authFetch has no session members.
// @ts-expect-error the core takes no bff option
createAuthFetch({ bff: 'duende' });
// @ts-expect-error nor with a refresh hook
createAuthFetch({ refresh: async () => 'token', bff: 'duende' });
// @ts-expect-error the core has no session()
void af.session;
// @ts-expect-error nor login(), completeLogin() or logout()
void af.login;
// @ts-expect-error (completeLogin)
void af.completeLogin;
// @ts-expect-error (logout)
void af.logout;
