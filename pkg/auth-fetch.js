// createAuthFetch: the JS shell around the wasm core.
//
// The shell does what only JS can do: it sends requests and chains their promises, runs the
// app's hooks, the refresh timer, storage, cross-tab locks and page events. Every decision is
// the core's (src/wasm/mod.rs over the pure Rust session and policy): whether a URL may get the
// token, whether a request goes now or waits for a refresh, what a 401 calls for, and which
// responses a refresh can answer. A request carries its ticket from the core as one number;
// strings cross through the core's buffer (wasm.js).
//
// The success path is one call into wasm to check the origin, one to admit the request, and the
// fetch: no extra promise, no copy of the request.
import { ex, put, take } from './wasm.js';
import { parseChallenges } from './challenges.js';
import {
  MARK, abortable, assignLocation, globalFetch, loadTokens, onStorage, onWake, originOf,
  pageHref, pageOrigin, report, requestKind, signalOf, snapshot, storageArea, storeTokens,
  urlOf, withAuthorization, withLock,
} from './env.js';

// The core's answers that are not tickets (tickets are 0 or more).
const REFRESH = -1;
const WAIT = -2;
const HAND_BACK_REPORT = -3;

const fail = (option, what) => new TypeError(`createAuthFetch: options.${option} ${what}`);

function fn(opts, key) {
  const v = opts[key];
  if (v == null) return undefined;
  if (typeof v !== 'function') throw fail(key, 'must be a function');
  return v;
}

function str(opts, key) {
  const v = opts[key];
  if (v == null) return undefined;
  if (typeof v !== 'string') throw fail(key, 'must be a string');
  return v;
}

function millis(opts, key, fallback) {
  const v = opts[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw fail(key, 'must be a number of milliseconds, 0 or more');
  return v;
}

/** The options, checked: a TypeError names the first bad one. */
function readOptions(opts) {
  if (opts === null || (typeof opts !== 'object' && typeof opts !== 'function')) {
    throw new TypeError('createAuthFetch: options must be an object');
  }
  const refresh = fn(opts, 'refresh');
  if (!refresh) throw fail('refresh', 'is required: a function that returns new tokens');
  const o = { refresh, origins: [] };
  for (const hook of ['onAuthFailure', 'shouldRefresh', 'onEvent', 'fetch']) o[hook] = fn(opts, hook);
  o.loginUrl = str(opts, 'loginUrl');
  const origins = opts.origins;
  if (origins == null) {
    const own = pageOrigin();
    if (own === undefined) throw fail('origins', 'is required where there is no page origin (Node): list the API origins');
    o.origins.push(own);
  } else {
    if (!Array.isArray(origins)) throw fail('origins', 'must be an array of origin strings');
    for (const s of origins) {
      if (typeof s !== 'string') throw fail('origins', 'must contain only strings');
      const origin = originOf(s);
      if (origin === undefined || origin === 'null') {
        throw fail('origins', "must contain absolute http(s) origins such as 'https://api.example.com'");
      }
      o.origins.push(origin);
    }
  }
  const kind = str(opts, 'storage');
  if (kind === 'session' || kind === 'local') {
    const area = storageArea(kind);
    if (!area) throw fail('storage', "names a Web Storage area this environment does not have (use 'memory')");
    o.storage = { area, key: str(opts, 'storageKey') ?? 'reauth' };
  } else if (kind !== undefined && kind !== 'memory') {
    throw fail('storage', "must be 'memory', 'session' or 'local'");
  } else if (opts.storageKey !== undefined) {
    str(opts, 'storageKey');
  }
  const timeout = opts.refreshTimeoutMs;
  if (timeout === undefined) o.timeoutMs = 10000;
  else if (timeout === Infinity) o.timeoutMs = undefined;
  else if (typeof timeout === 'number' && Number.isFinite(timeout) && timeout >= 0) o.timeoutMs = timeout;
  else throw fail('refreshTimeoutMs', 'must be a number of milliseconds, 0 or more (or Infinity)');
  o.skewMs = Math.floor(millis(opts, 'refreshSkewMs', 30000));
  o.lockTimeoutMs = millis(opts, 'lockTimeoutMs', 5000);
  const shared = o.storage !== undefined && kind === 'local';
  const crossTab = opts.crossTab;
  if (crossTab === undefined) o.crossTab = shared;
  else if (typeof crossTab !== 'boolean') throw fail('crossTab', 'must be a boolean');
  else if (crossTab && !shared) throw fail('crossTab', "needs storage: 'local' (tabs share tokens through it)");
  else o.crossTab = crossTab;
  return o;
}

/**
 * A token set from the app or from its `refresh` hook: a string (the access token) or
 * `{ accessToken, refreshToken?, expiresIn? }`. Returns `[access, refresh, inMs, atMs]` (-1: not
 * given) or a string saying what is wrong.
 */
function tokenSet(v) {
  if (typeof v === 'string') return v ? [v, undefined, -1, -1] : 'the access token must be a non-empty string';
  if (v === null || typeof v !== 'object') return 'expected an access token string or { accessToken, refreshToken?, expiresIn? }';
  const { accessToken, refreshToken, expiresIn } = v;
  if (typeof accessToken !== 'string' || !accessToken) return 'accessToken must be a non-empty string';
  if (refreshToken != null && typeof refreshToken !== 'string') return 'refreshToken must be a string';
  if (expiresIn != null && !(typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn >= 0)) {
    return 'expiresIn must be a number of seconds, 0 or more';
  }
  return [accessToken, refreshToken ?? undefined, expiresIn == null ? -1 : Math.floor(expiresIn * 1000), -1];
}

/**
 * A JWT's `exp` and `iat` claims (seconds; -1 when absent), read without verifying anything,
 * only to know when the token expires. Anything that is not a JWT with a numeric `exp` gives
 * [-1, -1]: no known expiry.
 */
function claims(token) {
  const parts = token.split('.');
  if (parts.length === 3) {
    try {
      const { exp, iat } = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/')));
      const seconds = (n) => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.floor(n) : -1);
      if (seconds(exp) >= 0) return [seconds(exp), seconds(iat)];
    } catch {
      // Not base64url JSON: not a JWT.
    }
  }
  return [-1, -1];
}

/** Stored tokens `[access, refresh, expiresAt]` as a token set. */
const fromStore = (s) => [s[0], s[1], -1, s[2] ?? -1];

/** Longer URLs (data: URLs, say) go straight to the URL parser instead of through the core. */
const LONG_URL = 4096;

/** Frees a core when its authFetch is garbage-collected. */
const cores = new FinalizationRegistry((h) => ex.drop(h));
/** Each authFetch's page listeners (see createAuthFetch). */
const alive = new WeakMap();

/**
 * Creates `authFetch`: `fetch` with the access token attached to allowed origins, one shared
 * refresh for any number of 401s, and one retry per request. See the README for the options.
 */
export function createAuthFetch(options) {
  const o = readOptions(options);
  if (ex === undefined) throw new Error('reauth: await init() (or call initSync) before createAuthFetch');
  /** This instance's core (its handle). */
  const h = ex.create();
  for (const origin of o.origins) ex.allow(h, put(origin));
  const page = pageOrigin();
  if (page !== undefined && o.origins.includes(page)) ex.allow(h, 0); // relative URLs
  const fallbackFetch = globalFetch(undefined);
  const st = o.storage;

  /** The `Authorization` value for the current token, or undefined. */
  let auth;
  /** The refresh that is running: { id, promise, resolve, controller, timer, url, response }. */
  let flight;

  const fetchNow = () => (o.fetch === undefined ? globalFetch(fallbackFetch) : o.fetch);

  function send(input, init, value) {
    try {
      const f = fetchNow();
      return Promise.resolve(value === undefined ? f(input, init) : f(input, withAuthorization(init, value)));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Whether `url` may get the token. */
  function allowed(url) {
    const answer = url.length > LONG_URL ? 2 : ex.check(h, put(url));
    if (answer !== 2) return answer === 1;
    // Not one of the common forms: the URL parser decides, against the page's URL.
    const origin = originOf(url, pageHref());
    return origin !== undefined && ex.allowedOrigin(h, put(origin)) === 1;
  }

  function emit(type, url, extra) {
    if (!o.onEvent) return;
    try {
      o.onEvent(Object.assign({ type, url }, extra));
    } catch (e) {
      report(e);
    }
  }

  /** Tells the app that re-authentication failed: its `onAuthFailure` hook, else a redirect to
   * `loginUrl`. The hook gets a copy of the response, so the caller's body stays unread. */
  function authFailure(reason, error, url, response) {
    emit('auth-failure', url, { reason });
    if (o.onAuthFailure) {
      const info = { reason, url };
      if (response !== undefined) {
        let copy = response;
        try {
          copy = response.clone();
        } catch {
          // Its body was already read: hand over the response itself.
        }
        info.response = copy;
      }
      if (error !== undefined) info.error = error;
      try {
        o.onAuthFailure(info);
      } catch (e) {
        report(e);
      }
    } else if (o.loginUrl !== undefined) {
      const here = pageHref();
      assignLocation(here === undefined ? o.loginUrl
        : `${o.loginUrl}${o.loginUrl.includes('?') ? '&' : '?'}return_to=${encodeURIComponent(here)}`);
    }
  }

  /** Keeps the header value (and, with `store`, the storage) in step with the core. */
  function tokensChanged(store) {
    const access = take(ex.accessToken(h));
    auth = access === undefined ? undefined : `Bearer ${access}`;
    if (store && st) {
      const at = ex.expiresAt(h);
      storeTokens(st.area, st.key, access, take(ex.refreshToken(h)), at < 0 ? undefined : at);
    }
  }

  /** Puts a token set's two strings into the core's buffer; returns the arguments that
   * describe it: their lengths, then the expiry (expiresIn, expiresAt, else the JWT claims). */
  function tokenArgs(t) {
    const n = put(t[0]);
    const known = t[2] >= 0 || t[3] >= 0;
    return [n, t[1] === undefined ? -1 : put(t[1], n), t[2], t[3], ...(known ? [-1, -1] : claims(t[0]))];
  }

  function setTokens(t, store) {
    const superseded = ex.setTokens(h, ...tokenArgs(t), Date.now());
    tokensChanged(store);
    if (superseded) cancelFlight(superseded, true);
  }

  /** Whether a response calls for a refresh: the core's policy, unless `shouldRefresh` says
   * otherwise. Only error statuses are looked at. */
  function wantsRefresh(response) {
    const status = response.status;
    if (status < 400 || (status !== 401 && !o.shouldRefresh)) return false;
    const header = wwwAuthenticate(response);
    const builtin = decide(status, header);
    if (!o.shouldRefresh) return builtin;
    try {
      const v = o.shouldRefresh(response, challengesOf(header));
      return typeof v === 'boolean' ? v : builtin;
    } catch (e) {
      report(e);
      return builtin;
    }
  }

  // Refreshes.

  function flightPromise(id) {
    return flight !== undefined && flight.id === id ? flight.promise : Promise.resolve(false);
  }

  /** Waits for a refresh (true: it gave tokens), or rejects with the caller's abort reason. */
  function wait(id, signal) {
    return abortable(flightPromise(id), signal);
  }

  /** Starts refresh `id`: the app's `refresh` hook, under the cross-tab lock when tabs share
   * tokens. `response` is the 401 that called for it, undefined for a proactive refresh. */
  function startFlight(id, url, response) {
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    const controller = new AbortController();
    const f = { id, promise, resolve, controller, timer: undefined, url, response };
    if (o.timeoutMs !== undefined) f.timer = setTimeout(() => settle(id, undefined, undefined, true), o.timeoutMs);
    flight = f;
    emit('refresh-start', url, { proactive: response === undefined });
    if (o.crossTab) {
      withLock(`reauth:${st.key}`, o.lockTimeoutMs, () => {
        // Another tab may have refreshed while this one waited for the lock: use its tokens
        // rather than present the refresh token a second time.
        const stored = loadTokens(st.area, st.key);
        if (stored && ex.adopt(h, put(stored[0]))) return settle(id, fromStore(stored));
        return runRefresh(id, response, controller.signal);
      }).catch(report);
    } else {
      runRefresh(id, response, controller.signal);
    }
    return promise;
  }

  /** Calls the app's `refresh` hook for flight `id` (if still current). Resolves once the
   * flight has settled, so that a cross-tab lock is held until the tokens are stored. */
  function runRefresh(id, response, signal) {
    if (ex.flight(h) !== id) return undefined;
    const raw = fetchNow();
    const ctx = {
      refreshToken: take(ex.refreshToken(h)) ?? null,
      challenges: challengesOf(response === undefined ? null : wwwAuthenticate(response)),
      // Bound, so that `ctx.fetch(…)` does not call the browser's fetch on `ctx`.
      fetch: typeof raw === 'function' ? raw.bind(undefined) : raw,
      signal,
    };
    let result;
    try {
      result = o.refresh(ctx);
    } catch (e) {
      return settle(id, undefined, e);
    }
    return Promise.resolve(result).then((v) => {
      const t = tokenSet(v);
      if (typeof t === 'string') settle(id, undefined, new TypeError(`refresh resolved with bad tokens: ${t}`));
      else settle(id, t);
    }, (e) => settle(id, undefined, e));
  }

  /** The end of flight `id`: install the tokens or report the failure, then release the
   * requests waiting for it. A flight that already ended (timed out, superseded) is ignored. */
  function settle(id, tokens, error, timedOut) {
    const f = takeFlight(id);
    if (f === undefined) return;
    const proactive = ex.proactive(h) === 1;
    if (tokens !== undefined) {
      ex.refreshSucceeded(h, id, ...tokenArgs(tokens), Date.now());
      tokensChanged(true);
      emit('refresh-success', f.url);
    } else {
      ex.refreshFailed(h, id);
      let reason = 'refresh_failed';
      if (timedOut) {
        reason = 'refresh_timeout';
        error = new Error('the refresh took longer than refreshTimeoutMs');
        error.name = 'TimeoutError';
        f.controller.abort(error);
      }
      emit('refresh-failure', f.url, { reason, error, proactive });
      // A failed proactive refresh is no failure yet: the token may still be good. The
      // requests go out with it, and a 401 then gets a refresh of its own.
      if (!proactive) authFailure(reason, error, f.url, f.response);
    }
    f.resolve(tokens !== undefined);
  }

  /** Takes flight `id` out of its slot (if it is still the current one) and stops its timer. */
  function takeFlight(id) {
    const f = flight;
    if (f === undefined || f.id !== id) return undefined;
    flight = undefined;
    clearTimeout(f.timer);
    return f;
  }

  /** Ends flight `id` without the hook's result (the tokens were set or cleared). */
  function cancelFlight(id, ok) {
    const f = takeFlight(id);
    if (f === undefined) return;
    f.controller.abort();
    f.resolve(ok);
  }

  // Requests.

  /** Admits a request: its ticket, or REFRESH / WAIT. A proactive refresh it calls for (the
   * token is about to expire) starts here. */
  function admit(url) {
    const t = ex.admit(h, Date.now(), o.skewMs);
    if (t === REFRESH) startFlight(ex.flight(h), url, undefined);
    return t;
  }

  function authFetch(input, init) {
    const url = urlOf(input);
    if (url === undefined || !allowed(url)) {
      // Another origin, or not a URL at all: fetch's business, untouched.
      return send(input, init);
    }
    const t = admit(url);
    let kind;
    try {
      kind = requestKind(input, init);
    } catch {
      kind = 0;
    }
    // Its own Authorization header: sent as is, it need not wait for a refresh.
    if (kind === 0) return send(input, init);
    if (t >= 0 && kind === 1) {
      return send(input, init, auth).then((r) => (r.status >= 400 ? onError(r, input, init, url, t) : r));
    }
    return slow(input, init, kind, t >= 0 ? undefined : [ex.flight(h), ex.epoch(h)]);
  }

  /** The success path's handler for error responses. */
  function onError(response, input, init, url, ticket) {
    if (!wantsRefresh(response)) return response;
    return afterResponse({ input, init, url, signal: signalOf(input, init) }, ticket, response);
  }

  /** Requests that must wait for a refresh (`waiting`: [its id, the epoch they were admitted
   * in]) or have their body copied first (`kind` 2, see requestKind). */
  async function slow(input, init, kind, waiting) {
    const signal = signalOf(input, init);
    if (kind === 2) [input, init] = await snapshot(input, init);
    const req = { input, init, url: urlOf(input), signal };
    let ticket;
    if (waiting === undefined) {
      // Admitted for sending, then the body was copied: admit again, as things are now.
      const epoch = ex.epoch(h);
      ticket = admit(req.url);
      if (ticket < 0) waiting = [ex.flight(h), epoch];
    }
    if (waiting !== undefined) ticket = ex.afterWait(h, waiting[1], await wait(waiting[0], signal));
    const response = await send(input, init, auth);
    return wantsRefresh(response) ? afterResponse(req, ticket, response) : response;
  }

  /** A response that may need a refresh: retry, wait, refresh or hand it back. */
  async function afterResponse(req, ticket, response) {
    for (;;) {
      let step = ex.unauthorized(h, ticket);
      while (step === REFRESH || step === WAIT) {
        const id = ex.flight(h);
        const ok = await abortable(step === REFRESH ? startFlight(id, req.url, response) : flightPromise(id), req.signal);
        step = ex.afterFlight(h, ok);
      }
      if (step < 0) {
        if (step === HAND_BACK_REPORT) authFailure('retry_unauthorized', undefined, req.url, response);
        return response;
      }
      emit('retry', req.url);
      response = await send(req.input, req.init, auth);
      ticket = step;
      if (!wantsRefresh(response)) return response;
    }
  }

  // Tokens, storage, other tabs, wake-ups.

  function logout(store) {
    const had = ex.accessToken(h) >= 0 || ex.refreshToken(h) >= 0;
    const cancelled = ex.clear(h);
    tokensChanged(store);
    if (cancelled) cancelFlight(cancelled, false);
    if (o.crossTab && had) authFailure('logout', undefined, pageHref());
  }

  if (st) {
    const stored = loadTokens(st.area, st.key);
    if (stored) setTokens(fromStore(stored), false);
  }
  const listeners = {
    // Another tab changed the shared tokens: adopt new ones, or log out with it.
    sharedChanged() {
      const stored = loadTokens(st.area, st.key);
      if (!stored) logout(false);
      else if (ex.adopt(h, put(stored[0]))) setTokens(fromStore(stored), false);
    },
    // A page that was hidden or offline is back: its timers may not have fired.
    woke() {
      const id = ex.checkExpiry(h, Date.now(), o.skewMs);
      if (id) startFlight(id, pageHref(), undefined);
    },
  };
  // The page's listeners hold this instance weakly, so that an authFetch the app drops can be
  // collected; `alive` keeps `listeners` exactly as long as the authFetch itself.
  const weak = new WeakRef(listeners);
  alive.set(authFetch, listeners);
  if (o.crossTab) onStorage(st.key, () => weak.deref()?.sharedChanged());
  onWake(() => weak.deref()?.woke());

  Object.defineProperties(authFetch, {
    setTokens: {
      value(tokens) {
        const t = tokenSet(tokens);
        if (typeof t === 'string') throw new TypeError(`setTokens: ${t}`);
        setTokens(t, true);
      },
    },
    clearTokens: { value: () => logout(true) },
    accessToken: { get: () => take(ex.accessToken(h)) ?? null, enumerable: true },
    [MARK]: { value: true },
  });
  cores.register(authFetch, h);
  return authFetch;
}

/** The `WWW-Authenticate` value of a response, or undefined where the runtime shows none. */
function wwwAuthenticate(response) {
  const h = response.headers;
  return (h && typeof h.get === 'function' && h.get('www-authenticate')) ?? undefined;
}

/** The core's policy for a status and `WWW-Authenticate` value (undefined: none). The last
 * answer is kept: a herd of 401s carries the same header a thousand times. */
let last = [];
function decide(status, header) {
  if (last[0] !== status || last[1] !== header) {
    last = [status, header, (Math.max(ex.inspect(status, header === undefined ? -1 : put(header)), 0) & 1) === 1];
  }
  return last[2];
}

/** The challenges of a header value; none when it is absent or does not parse. */
function challengesOf(header) {
  if (header == null) return [];
  try {
    return parseChallenges(header);
  } catch {
    return [];
  }
}
