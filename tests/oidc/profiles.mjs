// Provider profiles: oidc-provider (tests/oidc/provider.mjs) dressed as Keycloak, Microsoft Entra
// ID (v2 endpoints), Auth0 and Okta (a custom authorization server), each with the issuer, the
// endpoint paths, the discovery document's shape, the refresh-token rotation rules, step-up (or
// its absence) and logout (end-session) behaviour its vendor documents. The tests
// (tests/js/providers.test.mjs in Node, tests/js/providers-browser.test.mjs in Chromium) run
// reauth's OAuth build against each.
//
// What every profile shares, and is not faithful to any of them: the server is oidc-provider on
// 127.0.0.1 over http (real tenants are https on their own hosts); its development login form
// stands in for each vendor's login page; opaque access tokens are checked by the test resource
// (`/api/…` on the same origin) by looking them up in the provider, where the vendors issue JWT
// access tokens that APIs verify with the keys; every authorization response carries `iss`
// (RFC 9207) and the metadata says so, as oidc-provider always does; PKCE is required for the
// public SPA client; there is no consent screen.
//
// The rotation rules are put on top of oidc-provider's own rotation (which consumes the presented
// refresh token and revokes the whole grant when a consumed one comes back): `reuse.window`
// seconds during which a consumed refresh token still works (and rotates again), for the
// previous token only or for any; outside it, oidc-provider's reuse detection revokes the grant.
import { interactionPolicy } from 'oidc-provider';
import { startProvider } from './provider.mjs';

const { Check, base: basePolicy } = interactionPolicy;

/**
 * The profiles. Each: `docs` (the pages it copies, with the date they were read), `mount` (where
 * oidc-provider is mounted), `issuerPath`, `routes`, `aliases`, `metadata(json)` (the discovery
 * document as the vendor shapes it), `refreshTtl(ctx, token)` (seconds), `reuse` ({ window,
 * previousOnly }), `acr` ({ supported, login, stepUp } or null), `revocation` (has a
 * revocation endpoint), `endSession` ({ requireIdTokenHint } or null: no end_session_endpoint),
 * `stepUpChallenge` (the resource's 401 for `/api/strong`), `notFaithful` (what differs).
 */
export const profiles = {
  // Keycloak 26 (docs read 2026): a realm `demo`.
  keycloak: {
    name: 'Keycloak',
    docs: [
      // "Available Endpoints": /realms/{realm-name}/.well-known/openid-configuration and
      // /realms/{realm-name}/protocol/openid-connect/{auth,token,userinfo,logout,certs,
      // token/introspect,revoke}.
      'https://www.keycloak.org/securing-apps/oidc-layers',
      // Server Administration Guide, "Managing user sessions" / realm Tokens tab: "Revoke
      // Refresh Token" (off by default: a refresh answers a new refresh token and the old
      // one keeps working; on, with "Refresh Token Max Reuse" 0: each one works once).
      'https://docs.redhat.com/en/documentation/red_hat_build_of_keycloak/26.4/html/server_administration_guide/managing-user-sessions',
      // Step-up: acr_values mapped to levels of authentication (ACR to LoA mapping in the
      // realm), a conditional browser flow, the acr claim in the tokens; a login with
      // credentials gives acr "1".
      'https://dev.to/iamdevbox/keycloak-step-up-authentication-acr-loa-flows-and-the-cookie-bypass-gap-15hg',
    ],
    mount: '/realms/demo',
    routes: {
      authorization: '/protocol/openid-connect/auth',
      token: '/protocol/openid-connect/token',
      userinfo: '/protocol/openid-connect/userinfo',
      end_session: '/protocol/openid-connect/logout',
      jwks: '/protocol/openid-connect/certs',
      revocation: '/protocol/openid-connect/revoke',
      introspection: '/protocol/openid-connect/token/introspect',
    },
    // Keycloak's default: "Revoke Refresh Token" off, the old refresh token keeps working.
    reuse: { window: Infinity, previousOnly: false },
    // SSO Session Idle (30 min) bounds a refresh token; each refresh gives a new one.
    refreshTtl: () => 1800,
    acr: { supported: ['0', '1', 'silver', 'gold'], login: '1', stepUp: 'gold' },
    revocation: true,
    endSession: { requireIdTokenHint: false },
    metadata: (m) => ({ ...m, acr_values_supported: ['0', '1', 'silver', 'gold'] }),
    notFaithful: [
      'the realm\'s tokens are opaque here (Keycloak issues JWTs, refresh tokens included); a refresh token\'s lifetime is a fixed 30 min here, where Keycloak bounds it by the SSO session idle and max timeouts',
      'with "Revoke Refresh Token" on, Keycloak answers a reused token invalid_grant but keeps the session; oidc-provider also revokes the grant (the newer token stops working too)',
      'the ACR to LoA mapping (gold) and the conditional step-up flow are the realm configuration the docs describe, emulated by one login form that grants the acr asked for',
      'Keycloak accepts end-session with client_id and post_logout_redirect_uri (no id_token_hint) and shows a confirmation page; oidc-provider\'s confirmation page stands in for it',
    ],
  },
  // Keycloak with "Revoke Refresh Token" on and "Refresh Token Max Reuse" 0.
  'keycloak-revoke': null, // filled in below

  // Microsoft Entra ID, v2.0 endpoints (docs read 2026): a tenant id, an SPA registration.
  entra: {
    name: 'Microsoft Entra ID (v2.0)',
    docs: [
      // Endpoints under https://login.microsoftonline.com/{tenant}/: v2.0/.well-known/
      // openid-configuration, oauth2/v2.0/{authorize,token,logout}, discovery/v2.0/keys; the
      // issuer https://login.microsoftonline.com/{tenant}/v2.0; UserInfo on Microsoft Graph.
      'https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc',
      // "Refresh tokens replace themselves with a fresh token upon every use. The Microsoft
      // identity platform doesn't revoke old refresh tokens when used"; refresh tokens sent to
      // a redirect URI registered as spa expire after 24 hours and the ones acquired with them
      // carry over that expiration time.
      'https://learn.microsoft.com/en-nz/entra/identity-platform/refresh-tokens',
      // Claims challenge: WWW-Authenticate: Bearer … error="insufficient_claims", claims="…"
      // (Conditional Access authentication context), not acr_values.
      'https://learn.microsoft.com/entra/identity-platform/claims-challenge',
    ],
    tenant: 'aaaabbbb-0000-cccc-1111-dddd2222eeee',
    mount: '/aaaabbbb-0000-cccc-1111-dddd2222eeee',
    issuerPath: '/aaaabbbb-0000-cccc-1111-dddd2222eeee/v2.0',
    aliases: {
      '/aaaabbbb-0000-cccc-1111-dddd2222eeee/v2.0/.well-known/openid-configuration': '/aaaabbbb-0000-cccc-1111-dddd2222eeee/.well-known/openid-configuration',
    },
    routes: {
      authorization: '/oauth2/v2.0/authorize',
      token: '/oauth2/v2.0/token',
      end_session: '/oauth2/v2.0/logout',
      jwks: '/discovery/v2.0/keys',
      userinfo: '/oidc/userinfo',
    },
    // Not revoked when used: any earlier refresh token keeps working until the fixed expiry.
    reuse: { window: Infinity, previousOnly: false },
    // 24 hours from the login, carried over by every rotated token.
    refreshTtl: (ctx) => ctx?.oidc?.entities?.RotatedRefreshToken?.remainingTTL ?? 24 * 3600,
    acr: null,
    revocation: false,
    endSession: { requireIdTokenHint: false },
    // Claims challenge for Conditional Access authentication context c1:
    // {"access_token":{"acrs":{"essential":true,"value":"c1"}}}.
    stepUpChallenge: (scheme) => `${scheme} realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`,
    metadata: (m) => {
      const { revocation_endpoint: _r, acr_values_supported: _a, ...rest } = m;
      return { ...rest, userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo', tenant_region_scope: 'EU', cloud_instance_name: 'microsoftonline.com' };
    },
    notFaithful: [
      'the userinfo endpoint is advertised at Graph as Entra does, but nothing here serves it (reauth does not use it)',
      'Entra\'s issuer path is /{tenant}/v2.0 while its endpoints are under /{tenant}/oauth2/v2.0: emulated by mounting oidc-provider at /{tenant} and serving the discovery path as an alias',
      'Entra does not send iss in the authorization response and its metadata does not say it does; oidc-provider does both',
      'the claims challenge is only answered (reauth hands back the 401); no claims-request login is made, since the client has no such path',
      'Entra shows an account picker at logout; oidc-provider\'s confirmation page stands in for it',
    ],
  },

  // Auth0 (docs read 2026): a tenant on its own host; the issuer ends with a slash.
  auth0: {
    name: 'Auth0',
    docs: [
      // Authentication API: /authorize, /oauth/token, /oauth/revoke, /userinfo,
      // /.well-known/jwks.json; issuer https://{tenant}/ (trailing slash).
      'https://auth0.com/docs/api/authentication',
      // Rotation with a reuse interval: "Only the previous token can be reused" within it; the
      // second-to-last one triggers breach detection (the family is revoked).
      'https://auth0.com/docs/secure/tokens/refresh-tokens/configure-refresh-token-rotation',
      'https://auth0.com/docs/secure/tokens/refresh-tokens/refresh-token-rotation',
      // RP-initiated logout at /oidc/logout; end_session_endpoint is in discovery only when
      // "RP-Initiated Logout End Session Endpoint Discovery" is on (the default for tenants made
      // after 14 Nov 2023); client_id may replace id_token_hint.
      'https://auth0.com/docs/authenticate/login/logout/log-users-out-of-auth0',
      'https://auth0.com/docs/api/authentication/logout/oidc-logout',
    ],
    mount: '',
    issuerPath: '/',
    routes: {
      authorization: '/authorize',
      token: '/oauth/token',
      revocation: '/oauth/revoke',
      userinfo: '/userinfo',
      jwks: '/.well-known/jwks.json',
      end_session: '/oidc/logout',
    },
    // A reuse interval (here 2 s, to test both sides of it; Auth0's default is 0).
    reuse: { window: 2, previousOnly: true },
    refreshTtl: () => 30 * 24 * 3600,
    acr: null,
    revocation: true,
    // An older tenant: no end_session_endpoint in discovery (auth0-rp-logout has it).
    endSession: null,
    metadata: (m) => {
      const { end_session_endpoint: _e, ...rest } = m;
      return rest;
    },
    notFaithful: [
      'the reuse interval is 2 s here so that a test can wait past it',
      'Auth0\'s step-up (acr_values http://schemas.openid.net/pape/policies/2007/06/multi-factor) shows in the ID token\'s amr/acr, not in access tokens without an Action: not profiled',
      'without discovery, Auth0 still serves /v2/logout and /oidc/logout; the profile serves neither in this variant (oidc-provider\'s end-session is off)',
    ],
  },
  'auth0-rp-logout': null, // filled in below

  // Okta, a custom authorization server `default` (docs read 2026).
  okta: {
    name: 'Okta (custom authorization server)',
    docs: [
      // Custom authorization server endpoints: {org}/oauth2/default/v1/{authorize,token,revoke,
      // logout,keys,userinfo,introspect}; issuer {org}/oauth2/default; discovery at
      // {issuer}/.well-known/openid-configuration.
      'https://developer.okta.com/docs/concepts/auth-servers/',
      // Rotation: a new refresh token each use; reuse outside the grace period invalidates the
      // most recent refresh token and the access tokens; the grace period (leeway, 0-60 s,
      // default 30) keeps the previous token valid.
      'https://developer.okta.com/docs/guides/refresh-tokens/refresh-token-rotation/',
      // A rotated refresh token keeps the expiry of the one it replaces.
      'https://support.okta.com/help/s/article/refresh-token-expiration-behavior?language=en_US',
      // Step-up with acr_values (urn:okta:loa:1fa:any, urn:okta:loa:2fa:any, phr, phrh, …), acr
      // in the tokens.
      'https://developer.okta.com/docs/guides/step-up-authentication/main/',
      // /v1/logout requires id_token_hint.
      'https://support.okta.com/help/s/article/the-purpose-of-id-token-hint-in-the-logout-api-and-how-does-it-affect-the-single-logout-process',
    ],
    mount: '/oauth2/default',
    routes: {
      authorization: '/v1/authorize',
      token: '/v1/token',
      revocation: '/v1/revoke',
      end_session: '/v1/logout',
      jwks: '/v1/keys',
      userinfo: '/v1/userinfo',
      introspection: '/v1/introspect',
    },
    // The grace period, here 2 s (Okta's default is 30) to test both sides of it.
    reuse: { window: 2, previousOnly: true },
    // Fixed expiry: a rotated token keeps the one it replaces.
    refreshTtl: (ctx) => ctx?.oidc?.entities?.RotatedRefreshToken?.remainingTTL ?? 7 * 24 * 3600,
    acr: {
      supported: ['urn:okta:loa:1fa:any', 'urn:okta:loa:1fa:pwd', 'urn:okta:loa:2fa:any', 'urn:okta:loa:2fa:any:ifpossible', 'phr', 'phrh'],
      login: 'urn:okta:loa:1fa:pwd',
      stepUp: 'urn:okta:loa:2fa:any',
    },
    revocation: true,
    endSession: { requireIdTokenHint: true },
    metadata: (m) => m,
    notFaithful: [
      'the grace period is 2 s here so that a test can wait past it',
      'Okta\'s acr for a password-only login is not documented on the pages read; urn:okta:loa:1fa:pwd is assumed',
      'the second factor of the step-up is the same development login form',
      'Okta\'s /v1/logout without id_token_hint is answered 400 here (the docs say it is required); Okta\'s own error page differs',
    ],
  },
};

profiles['keycloak-revoke'] = {
  ...profiles.keycloak,
  name: 'Keycloak (Revoke Refresh Token on)',
  reuse: { window: 0, previousOnly: true },
};
profiles['auth0-rp-logout'] = {
  ...profiles.auth0,
  name: 'Auth0 (RP-initiated logout discovery on)',
  endSession: { requireIdTokenHint: false },
  metadata: (m) => m,
};

/**
 * Starts oidc-provider as `name` (a key of `profiles`), for the public client `spa` with
 * `redirectUris` (also its post-logout redirect URIs). Resolves with startProvider's handle,
 * plus `profile`, `discovery` (the discovery URL) and `endpoint(route)` (an absolute URL).
 */
export async function startProfile(name, { redirectUris, postLogoutRedirectUris = redirectUris, accessTtl = 60 } = {}) {
  const profile = profiles[name];
  if (!profile) throw new Error(`no profile ${name}`);
  // When each consumed refresh token was rotated, and the last one rotated per grant.
  const lastRotated = new Map();
  const handle = await startProvider({
    redirectUris,
    accessTtl,
    prefix: profile.mount,
    issuerPath: profile.issuerPath ?? profile.mount,
    routes: profile.routes,
    aliases: profile.aliases ?? {},
    metadata: profile.metadata,
    stepUpAcr: profile.acr?.stepUp ?? 'urn:not-offered',
    stepUpChallenge: profile.stepUpChallenge,
    configure(config) {
      config.clients = config.clients.map((c) => ({ ...c, post_logout_redirect_uris: postLogoutRedirectUris }));
      config.ttl = { ...config.ttl, RefreshToken: profile.refreshTtl };
      config.features = {
        ...config.features,
        revocation: { enabled: profile.revocation },
        rpInitiatedLogout: {
          enabled: Boolean(profile.endSession),
          // The confirmation page, without the "Yes"/"No" buttons' script.
          logoutSource: async (ctx, form) => {
            ctx.body = `<!doctype html><title>Sign out</title>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`;
          },
        },
      };
      if (profile.acr) {
        config.acrValues = profile.acr.supported;
        // A login asked for an acr that the session's login does not have shows the form
        // again (Keycloak's and Okta's step-up: the stronger authentication is asked for).
        const policy = basePolicy();
        policy.get('login').checks.add(new Check('acr_step_up', 'the requested authentication context is not met', (ctx) => {
          const wanted = ctx.oidc.params.acr_values?.split(' ').filter(Boolean);
          if (!wanted?.length || ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
          return wanted.includes(ctx.oidc.session.acr) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
        }));
        config.interactions = { ...config.interactions, policy };
        // The login's acr goes with the access tokens (as Keycloak's and Okta's JWTs carry it).
        config.extraTokenClaims = (ctx, token) => {
          if (token.kind !== 'AccessToken') return undefined;
          const { AuthorizationCode, RefreshToken } = ctx.oidc.entities;
          const acr = (AuthorizationCode ?? RefreshToken)?.acr;
          return acr ? { acr } : undefined;
        };
      }
      return config;
    },
    setup(provider, stats) {
      stats.reuses = 0;
      // The login form's result: the acr asked for (if the profile offers it), else the
      // profile's acr for a password login.
      if (profile.acr) {
        const finished = provider.interactionFinished.bind(provider);
        provider.interactionFinished = async (req, res, result, options) => {
          if (result?.login) {
            const { params } = await provider.interactionDetails(req, res);
            const wanted = params.acr_values?.split(' ').find((v) => profile.acr.supported.includes(v));
            result.login.acr = wanted ?? profile.acr.login;
          }
          return finished(req, res, result, options);
        };
      }
      // The reuse window over oidc-provider's rotation.
      const { RefreshToken } = provider;
      const find = RefreshToken.find.bind(RefreshToken);
      RefreshToken.find = async (...args) => {
        const token = await find(...args);
        if (token?.consumed) {
          const { window, previousOnly } = profile.reuse;
          const within = Date.now() / 1000 - token.consumed <= window;
          const previous = !previousOnly || lastRotated.get(token.grantId) === token.jti;
          if (within && previous) {
            delete token.consumed;
            stats.reuses += 1;
          }
        }
        return token;
      };
      provider.on('grant.success', (ctx) => {
        const rotated = ctx.oidc.entities.RotatedRefreshToken;
        if (rotated) lastRotated.set(rotated.grantId, rotated.jti);
      });
      // End-session without id_token_hint where the vendor requires it.
      if (profile.endSession?.requireIdTokenHint) {
        provider.use(async (ctx, next) => {
          if (ctx.path === profile.routes.end_session && !ctx.query.id_token_hint && ctx.method === 'GET') {
            ctx.status = 400;
            ctx.body = { error: 'invalid_request', error_description: 'The \'id_token_hint\' parameter is required.' };
            return;
          }
          await next();
        });
      }
    },
  });
  return {
    ...handle,
    profile,
    discovery: `${handle.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
    endpoint: (route) => `${handle.origin}${profile.mount}${handle.routes[route]}`,
  };
}
