// reauth/bff: the 401 engine with cookie sessions behind a backend-for-frontend (Duende BFF,
// the Curity Identity Server's Token Handler, Curity's OAuth Agent, or any BFF). The types of the
// Rust exports are generated from the Rust sources into reauth_bff.d.ts; init and initSync are
// the main entry's.

export { createAuthFetch, parseChallenges } from './reauth_bff.js';
export type {
  AuthEvent,
  AuthFailure,
  AuthFailureReason,
  AuthFetch,
  AuthFetchOptions,
  BffOptions,
  Challenge,
  RefreshContext,
  RefreshHook,
  SessionRefreshHook,
  StepUpInfo,
  TokenSet,
} from './reauth_bff.js';
export { default, initSync } from './index.js';
export type { InitInput, SyncInitInput } from './index.js';
