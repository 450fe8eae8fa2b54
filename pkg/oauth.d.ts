// reauth/oauth: the 401 engine with OAuth 2.0 (login with PKCE, the refresh grant, revocation)
// and DPoP. The types of the Rust exports are generated from the Rust sources into
// reauth_oauth.d.ts; init and initSync are the main entry's.

export { createAuthFetch, parseChallenges } from './reauth_oauth.js';
export type {
  AuthEvent,
  AuthFailure,
  AuthFailureReason,
  AuthFetch,
  AuthFetchOptions,
  Challenge,
  LoginOptions,
  OAuthError,
  OAuthOptions,
  RefreshContext,
  RefreshHook,
  StepUpInfo,
  TokenSet,
} from './reauth_oauth.js';
export { default, initSync } from './index.js';
export type { InitInput, SyncInitInput } from './index.js';
