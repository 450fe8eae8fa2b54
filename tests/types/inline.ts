// reauth/inline has the main entry's API and types, value for value.
import init, {
  createAuthFetch,
  initSync,
  parseChallenges,
  type AuthFetch,
  type AuthFetchOptions,
  type Challenge,
  type InitInput,
  type SyncInitInput,
} from 'reauth/inline';
import type * as main from 'reauth';

await init();
await init(new URL('https://cdn.example.com/reauth.wasm'));
initSync(new Uint8Array(8));

const sameInit: typeof main.default = init;
const sameInitSync: typeof main.initSync = initSync;
const sameCreate: typeof main.createAuthFetch = createAuthFetch;
const sameParse: typeof main.parseChallenges = parseChallenges;
const options: main.AuthFetchOptions = { refresh: async () => 'token' } satisfies AuthFetchOptions;
const authFetch: AuthFetch = createAuthFetch(options);
const challenges: Challenge[] = parseChallenges('Bearer');
const input: InitInput = new Response(null);
const syncInput: SyncInitInput = new ArrayBuffer(8);

// @ts-expect-error refresh is required, as in the main entry
createAuthFetch({ origins: [] });

void [sameInit, sameInitSync, sameCreate, sameParse, authFetch, challenges, input, syncInput];
