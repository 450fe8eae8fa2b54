// The runtime helpers of the JS shell: fetch inputs and their headers in all their shapes,
// request bodies, abort signals, storage, cross-tab locks and page events. They make no
// decision about tokens: auth-fetch.js asks the wasm core for those.

/** Marks the functions createAuthFetch returns, so that a page that installs one as
 * `globalThis.fetch` does not send authFetch's own requests back into itself. */
export const MARK = Symbol.for('reauth.authFetch');

/** The fetch to send with: `fallback` when the global one is an authFetch, else the global. */
export function globalFetch(fallback) {
  const f = globalThis.fetch;
  return typeof f === 'function' && !f[MARK] ? f : fallback;
}

/** The URL a fetch input names, as a string, or undefined when it is none of the three. */
export function urlOf(input) {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.href;
  if (input instanceof Request) return input.url;
  return undefined;
}

function hasAuthorization(headers) {
  if (headers == null) return false;
  if (headers instanceof Headers) return headers.has('authorization');
  if (Array.isArray(headers) || typeof headers[Symbol.iterator] === 'function') {
    for (const pair of headers) if (String(pair[0]).toLowerCase() === 'authorization') return true;
    return false;
  }
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'authorization') return true;
  return false;
}

/** How a request to an allowed origin must be handled: 0 it carries its own Authorization
 * (send as is), 1 its body can be sent twice as given, 2 it needs a snapshot first (a Request,
 * a FormData body whose multipart boundary changes on each send, or a stream). */
export function requestKind(input, init) {
  const isRequest = input instanceof Request;
  const headers = init != null && init.headers !== undefined ? init.headers : isRequest ? input.headers : undefined;
  if (hasAuthorization(headers)) return 0;
  if (isRequest) return 2;
  const body = init == null ? null : init.body;
  if (body == null || typeof body === 'string') return 1;
  if (body instanceof FormData) return 2;
  if (body instanceof ReadableStream) return 2;
  if (typeof body[Symbol.asyncIterator] === 'function') return 2;
  return 1;
}

/** Resolves with [url, init] whose body is bytes (or a reusable value) and whose Request
 * fields, for a Request input, are copied into init. */
export async function snapshot(input, init) {
  if (input instanceof Request) {
    const req = init == null ? input : new Request(input, init);
    const body = req.body === null ? null : await req.arrayBuffer();
    return [req.url, {
      method: req.method,
      headers: new Headers(req.headers),
      body,
      mode: req.mode === 'navigate' ? 'same-origin' : req.mode,
      credentials: req.credentials,
      cache: req.cache,
      redirect: req.redirect,
      referrer: req.referrer,
      referrerPolicy: req.referrerPolicy,
      integrity: req.integrity,
      keepalive: req.keepalive,
      signal: req.signal,
    }];
  }
  const next = Object.assign({}, init);
  const body = next.body;
  if (body instanceof FormData) {
    // Serialise once, so that the retry carries the same bytes and the same boundary.
    const r = new Request('http://reauth.invalid/', { method: 'POST', body });
    next.body = await r.arrayBuffer();
    let headers = new Headers(next.headers);
    if (!headers.has('content-type')) headers.set('content-type', r.headers.get('content-type'));
    next.headers = headers;
  } else {
    next.body = await new Response(body).arrayBuffer();
  }
  return [typeof input === 'string' ? input : input.href, next];
}

/** `init` with `Authorization: <value>` added, in the shape its headers were given. */
export function withAuthorization(init, value) {
  const next = init == null ? {} : Object.assign({}, init);
  const h = next.headers;
  if (h == null) {
    next.headers = { authorization: value };
  } else if (h instanceof Headers) {
    const copy = new Headers(h);
    copy.set('authorization', value);
    next.headers = copy;
  } else if (Array.isArray(h) || typeof h[Symbol.iterator] === 'function') {
    next.headers = [...h, ['authorization', value]];
  } else {
    next.headers = Object.assign({}, h, { authorization: value });
  }
  return next;
}

/** The signal of a fetch call, from init or from a Request input. */
export function signalOf(input, init) {
  if (init != null && init.signal != null) return init.signal;
  if (input instanceof Request) return input.signal;
  return undefined;
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
export function abortable(promise, signal) {
  if (signal == null) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/** Reports an error thrown by a user's hook where the runtime shows such errors. */
export function report(error) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
  else console.error(error);
}

/** The page's origin, or undefined where there is none (Node). */
export function pageOrigin() {
  const loc = globalThis.location;
  return loc && typeof loc.origin === 'string' && loc.origin !== 'null' ? loc.origin : undefined;
}

/** The page's URL, for resolving relative request URLs, or undefined (Node). */
export function pageHref() {
  const loc = globalThis.location;
  return loc && typeof loc.href === 'string' ? loc.href : undefined;
}

/** The origin of `url` resolved against `base`, or undefined if it does not parse. */
export function originOf(url, base) {
  try {
    return new URL(url, base).origin;
  } catch {
    return undefined;
  }
}

/** location.assign(url) where there is a location. */
export function assignLocation(url) {
  if (globalThis.location && typeof globalThis.location.assign === 'function') globalThis.location.assign(url);
}

/** The Web Storage area named 'session' or 'local', or undefined where it is missing or
 * refuses access (Node, workers, some privacy modes). */
export function storageArea(kind) {
  try {
    const area = kind === 'local' ? globalThis.localStorage : globalThis.sessionStorage;
    return area == null ? undefined : area;
  } catch {
    return undefined;
  }
}

/** Reads [access, refresh, expiresAt] stored under `key`, or undefined. */
export function loadTokens(area, key) {
  try {
    const v = JSON.parse(area.getItem(key));
    if (v && typeof v.accessToken === 'string') {
      return [v.accessToken, typeof v.refreshToken === 'string' ? v.refreshToken : undefined,
        typeof v.expiresAt === 'number' ? v.expiresAt : undefined];
    }
  } catch {
    // Unreadable or foreign data: start without tokens.
  }
  return undefined;
}

/** Stores the tokens under `key` (or removes the key when `access` is undefined). */
export function storeTokens(area, key, access, refresh, expiresAt) {
  try {
    if (access === undefined) area.removeItem(key);
    else area.setItem(key, JSON.stringify({ accessToken: access, refreshToken: refresh, expiresAt }));
  } catch (e) {
    report(e);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** How long a tab that waited for the cross-tab lock lets storage updates arrive first. */
const PROPAGATION_MS = 60;

/** Runs `fn` (once, always) holding the cross-tab lock `name`: the Web Locks API where there is
 * one, taking the lock from a holder that keeps it longer than `waitMs` (a frozen or hung tab;
 * a closed tab's lock is released by the browser); else a lock record in localStorage with an
 * expiry. Resolves with what `fn` resolves with. */
export async function withLock(name, waitMs, fn) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  if (locks && typeof locks.request === 'function') {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), waitMs);
    const asked = Date.now();
    let ran = false;
    const run = async () => {
      clearTimeout(timer);
      ran = true;
      // Another tab held the lock: it has just stored new tokens, but the storage this tab
      // reads is updated across processes with no ordering against the lock grant. Give it a
      // moment to arrive before deciding whether to refresh.
      if (Date.now() - asked > 2) await sleep(PROPAGATION_MS);
      return fn();
    };
    try {
      return await locks.request(name, { signal: timeout.signal }, run);
    } catch (e) {
      if (ran) throw e;
      clearTimeout(timer);
      try {
        return await locks.request(name, { steal: true }, run);
      } catch (e2) {
        if (ran) throw e2;
        return fn();
      }
    }
  }
  return storageLock(name, waitMs, fn);
}

async function storageLock(name, waitMs, fn) {
  const key = `${name}:lock`;
  const me = `${Date.now()}-${Math.random()}`;
  const read = () => {
    try {
      return JSON.parse(localStorage.getItem(key));
    } catch {
      return null;
    }
  };
  const deadline = Date.now() + waitMs;
  let held = false;
  try {
    while (!held) {
      const current = read();
      if (!current || current.until < Date.now() || Date.now() > deadline) {
        localStorage.setItem(key, JSON.stringify({ id: me, until: Date.now() + waitMs }));
        await sleep(PROPAGATION_MS + Math.random() * 40);
        held = read()?.id === me;
      } else {
        await sleep(40);
      }
    }
  } catch {
    // No usable storage: run unlocked.
  }
  try {
    await sleep(PROPAGATION_MS);
    return await fn();
  } finally {
    try {
      if (read()?.id === me) localStorage.removeItem(key);
    } catch {}
  }
}

/** Calls `callback(newValue)` when another tab changes `key` in localStorage. */
export function onStorage(key, callback) {
  if (typeof globalThis.addEventListener !== 'function') return;
  globalThis.addEventListener('storage', (e) => {
    if (e.key === key && e.storageArea === globalThis.localStorage) callback(e.newValue);
    else if (e.key === null) callback(null); // localStorage.clear()
  });
}

/** Calls `callback()` when the page becomes visible again or the device comes back online,
 * the moments a sleeping tab's timers cannot be trusted to have fired. */
export function onWake(callback) {
  if (typeof globalThis.addEventListener === 'function') globalThis.addEventListener('online', () => callback());
  const doc = globalThis.document;
  if (doc && typeof doc.addEventListener === 'function') {
    doc.addEventListener('visibilitychange', () => {
      if (doc.visibilityState === 'visible') callback();
    });
  }
}

