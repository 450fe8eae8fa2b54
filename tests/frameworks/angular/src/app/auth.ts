// Added for reauth (tests/frameworks/generate.sh keeps it): the one module that creates the
// app's authFetch, as the README's quick start does. The API's origin comes from the page's
// `?api=` (the test server's port is random); there is no location during SSR.
import { createAuthFetch } from 'reauth';

export const API: string | undefined =
  typeof location === 'undefined' ? undefined : (new URLSearchParams(location.search).get('api') ?? location.origin);

/** The reason of each onAuthFailure call, in order: what the app would answer with its login. */
export const authFailures: string[] = [];

export const authFetch = createAuthFetch({
  origins: API ? [API] : undefined,
  storage: 'session',
  async refresh(ctx) {
    if (!ctx.refreshToken) return null;
    const r = await ctx.fetch(`${API}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: ctx.refreshToken }),
    });
    if (r.status === 400 || r.status === 401) return null; // the session is over
    if (!r.ok) throw new Error(`refresh failed: ${r.status}`); // may pass: tokens kept
    const t = await r.json();
    return { accessToken: t.access_token, refreshToken: t.refresh_token, expiresIn: t.expires_in };
  },
  onAuthFailure: (info) => {
    authFailures.push(info.reason);
  },
});
