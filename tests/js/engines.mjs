// The three browser engines the browser tiers run in: Debian's Chromium through playwright-core,
// Firefox ESR through geckodriver and WebKitGTK's MiniBrowser through WebKitWebDriver (under
// Xvfb), both over the W3C WebDriver protocol with the `webdriver` client from npm.
//
// `launch(engine)` resolves with an object that answers the part of Playwright's Browser, Context
// and Page API the tests use, whatever the engine: `newPage()`, `newContext()` (a browser profile
// of its own), and on a page `goto`, `evaluate(fn | expression, arg)`, `waitForFunction`,
// `click`, `fill`, `check`, `uncheck`, `textContent`, `waitForSelector`, `reload`, `url`,
// `waitForURL`, `waitForTimeout`, `close`, and `on('pageerror')`.
//
// Over WebDriver a session runs one command at a time, and a script that waits blocks every
// other window of its session. So `evaluate` starts the function in the page, keeps its
// outcome there, and asks for it with short asynchronous scripts (each waits at most HOLD_MS):
// evaluations in several windows of one session go on at the same time, as in Playwright.
//
// ENGINES (e.g. `ENGINES=firefox,webkit`) narrows the engines a run uses; the default is all three.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

/** The engines, in the order the tiers run them. */
export const ALL_ENGINES = ['chromium', 'firefox', 'webkit'];

/** The engines this run uses (ENGINES narrows them). */
export const engines = (process.env.ENGINES ?? ALL_ENGINES.join(','))
  .split(',').map((e) => e.trim()).filter((e) => ALL_ENGINES.includes(e));

/** What users call each engine, for test names. */
export const engineName = { chromium: 'Chromium', firefox: 'Firefox', webkit: 'WebKit' };

const HOLD_MS = 100;
const home = process.env.HOME ?? '/root';
const paths = {
  chromium: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  firefox: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
  geckodriver: process.env.GECKODRIVER ?? `${home}/.cargo/bin/geckodriver`,
  webkitDriver: process.env.WEBKIT_DRIVER ?? '/usr/bin/WebKitWebDriver',
  miniBrowser: process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
};

/** Debian's Chromium, headless, with no network chatter (`extraArgs`: more flags). */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: paths.chromium,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** Starts `engine`; `chromiumArgs` are more flags for Chromium. */
export async function launch(engine, { chromiumArgs = [] } = {}) {
  if (engine === 'chromium') return launchChromium(chromiumArgs);
  if (engine === 'firefox' || engine === 'webkit') return new WdBrowser(engine);
  throw new Error(`unknown engine ${engine}`);
}

// Processes this test process started (drivers, Xvfb): ended when it exits, whatever happens.
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  children.add(child);
  let err = '';
  child.stderr.on('data', (d) => { if (err.length < 4000) err += d; });
  child.on('exit', () => children.delete(child));
  child.output = () => err;
  return child;
}

const freePort = () => new Promise((ok, fail) => {
  const s = createServer();
  s.on('error', fail);
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => ok(port));
  });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One Xvfb per test process, for MiniBrowser (WebKitGTK has no headless mode of its own).
let display;
function xvfb() {
  display ??= new Promise((ok, fail) => {
    const x = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'],
      { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    children.add(x);
    x.on('error', (e) => fail(new Error(`Xvfb could not start (scripts/setup.sh installs it): ${e.message}`)));
    let out = '';
    x.stdio[3].on('data', (d) => {
      out += d;
      if (!out.includes('\n')) return;
      // It lives as long as this process, without keeping it alive.
      x.stdio[3].destroy();
      x.unref();
      ok(`:${out.trim()}`);
    });
    x.on('exit', (code) => fail(new Error(`Xvfb exited (${code})`)));
    setTimeout(() => fail(new Error(`Xvfb named no display in 10 s (${out})`)), 10000).unref();
  });
  return display;
}

async function startDriver(engine) {
  const port = await freePort();
  let child;
  if (engine === 'firefox') {
    child = start(paths.geckodriver, ['--port', String(port), '--log', 'error']);
  } else {
    child = start(paths.webkitDriver, [`--port=${port}`], { DISPLAY: await xvfb() });
  }
  const failed = new Promise((_, fail) => {
    child.on('error', (e) => fail(new Error(`${engine}: the WebDriver server could not start (scripts/setup.sh installs it): ${e.message}`)));
    child.on('exit', (code) => fail(new Error(`${engine}: the WebDriver server exited (${code}): ${child.output()}`)));
  });
  failed.catch(() => {});
  for (let i = 0; i < 100; i++) {
    const up = fetch(`http://127.0.0.1:${port}/status`).then((r) => r.ok, () => false);
    if (await Promise.race([up, failed])) return { child, port };
    await sleep(50);
  }
  throw new Error(`${engine}: the WebDriver server did not answer on port ${port}`);
}

function capabilities(engine) {
  if (engine === 'firefox') {
    return {
      browserName: 'firefox',
      'moz:firefoxOptions': {
        binary: paths.firefox,
        args: ['-headless'],
        prefs: {
          // Windows that are not in front keep their timers (tabs share a refresh in real time).
          'dom.min_background_timeout_value': 4,
          'dom.timeout.enable_budget_timer_throttling': false,
          // No network chatter on a machine that reaches no network.
          'app.update.disabledForTesting': true,
          'browser.safebrowsing.update.enabled': false,
          'network.connectivity-service.enabled': false,
          'network.captive-portal-service.enabled': false,
          'datareporting.policy.dataSubmissionEnabled': false,
          'toolkit.telemetry.enabled': false,
          'messaging-system.rsexperimentloader.enabled': false,
        },
      },
    };
  }
  return {
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: paths.miniBrowser, args: ['--automation'] },
  };
}

/** One WebDriver session: one browser process with a profile of its own (a Playwright context). */
class WdSession {
  constructor(engine) {
    this.engine = engine;
    this.pages = new Set();
    this.chain = Promise.resolve();
    this.ready = this.#open();
    this.ready.catch(() => {});
  }

  async #open() {
    this.driver = await startDriver(this.engine);
    // The client logs each connection unless told otherwise, and reads its level at import.
    process.env.WDIO_LOG_LEVEL ??= 'silent';
    const { default: WebDriver } = await import('webdriver');
    this.client = await WebDriver.newSession({
      hostname: '127.0.0.1',
      port: this.driver.port,
      logLevel: 'silent',
      connectionRetryCount: 0,
      connectionRetryTimeout: 120000,
      capabilities: { alwaysMatch: { ...capabilities(this.engine), 'wdio:enforceWebDriverClassic': true }, firstMatch: [{}] },
    });
    this.first = await this.client.getWindowHandle();
    this.current = this.first;
  }

  /** Runs `fn(client)` with window `handle` in front, after every command queued before it. */
  run(handle, fn) {
    const next = this.chain.then(async () => {
      await this.ready;
      // A command for no window in particular (opening one) needs a window that still exists.
      handle ??= this.current ?? [...this.pages][0]?.handle;
      if (handle && this.current !== handle) {
        await this.client.switchToWindow(handle);
        this.current = handle;
      }
      return fn(this.client);
    });
    this.chain = next.catch(() => {});
    return next;
  }

  async newPage() {
    await this.ready;
    let handle;
    if (this.first) {
      handle = this.first;
      this.first = null;
    } else {
      // A window, not a tab: a window stays visible, so its timers are not throttled.
      handle = (await this.run(null, (c) => c.createWindow('window'))).handle;
    }
    const page = new WdPage(this, handle);
    this.pages.add(page);
    return page;
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.ready;
      await Promise.race([this.client.deleteSession(), sleep(5000)]);
    } catch {
      // The browser is going away either way.
    }
    this.driver?.child.kill('SIGKILL');
  }
}

/** A browser over WebDriver: `newPage()` opens a window in a shared default profile,
 * `newContext()` starts a profile (a WebDriver session) of its own. */
class WdBrowser {
  constructor(engine) {
    this.engine = engine;
    this.sessions = new Set();
  }

  async newContext() {
    const s = new WdSession(this.engine);
    this.sessions.add(s);
    await s.ready;
    return {
      newPage: () => s.newPage(),
      close: () => s.close(),
      pages: () => [...s.pages],
    };
  }

  async newPage() {
    this.default ??= (async () => {
      const s = new WdSession(this.engine);
      this.sessions.add(s);
      await s.ready;
      return s;
    })();
    return (await this.default).newPage();
  }

  async close() {
    await Promise.all([...this.sessions].map((s) => s.close()));
  }
}

let evalId = 0;

/** The script that installs, in a page, the record of uncaught errors (read by `on('pageerror')`). */
const ERRORS = `if (!window.__wdErrors) {
  window.__wdErrors = [];
  // As Playwright's pageerror: what no listener handled (reportError's events included).
  window.addEventListener('error', (e) => setTimeout(() => e.defaultPrevented || window.__wdErrors.push(String(e.error ?? e.message))));
  window.addEventListener('unhandledrejection', (e) => window.__wdErrors.push(String(e.reason)));
}`;

class WdPage {
  constructor(session, handle) {
    this.session = session;
    this.handle = handle;
    this.errorListeners = [];
  }

  #run(fn) {
    if (this.closed) return Promise.reject(new Error('the page is closed'));
    return this.session.run(this.handle, fn);
  }

  on(event, fn) {
    if (event === 'pageerror') this.errorListeners.push(fn);
    // Other events (console, request) are Chromium's (Playwright) only.
    return this;
  }

  async #collectErrors(c) {
    if (!this.errorListeners.length) return;
    const errors = await c.executeScript(`${ERRORS}; return window.__wdErrors.splice(0);`, []);
    for (const e of errors ?? []) for (const fn of this.errorListeners) fn(new Error(e));
  }

  async goto(url) {
    await this.#run(async (c) => {
      await c.navigateTo(url);
      await c.executeScript(ERRORS, []);
    });
  }

  async reload() {
    await this.#run(async (c) => {
      await c.refresh();
      await c.executeScript(ERRORS, []);
    });
  }

  url() {
    return this.#run((c) => c.getUrl());
  }

  /** Playwright's `evaluate`: a function (called with `arg`) or an expression, awaited in the page. */
  async evaluate(fn, arg) {
    const id = ++evalId;
    const expr = typeof fn === 'function' ? `(${fn.toString()})(__arg)` : `(${fn})`;
    const begin = `var __arg = arguments[0];
      var box = (window.__wdEval ??= {});
      var slot = box[${id}] = { done: false, waiters: [] };
      var settle = (r) => { slot.done = true; slot.result = r; for (const w of slot.waiters.splice(0)) w(r); };
      var fail = (e) => ({ error: String(e && e.stack ? e.message + '\\n' + e.stack : e) });
      var out;
      try { out = ${expr}; } catch (e) { delete box[${id}]; return fail(e); }
      // A value that is no promise is the answer at once (the page may navigate right after).
      if (typeof out?.then !== 'function') { delete box[${id}]; return { value: out === undefined ? null : out }; }
      out.then((v) => settle({ value: v === undefined ? null : v }), (e) => settle(fail(e)));
      return { pending: true };`;
    const poll = `var done = arguments[arguments.length - 1];
      var slot = window.__wdEval && window.__wdEval[${id}];
      if (!slot) return done({ gone: true });
      if (slot.done) { delete window.__wdEval[${id}]; return done(slot.result); }
      var w = (r) => { clearTimeout(t); delete window.__wdEval[${id}]; done(r); };
      var t = setTimeout(() => { slot.waiters.splice(slot.waiters.indexOf(w), 1); done({ pending: true }); }, ${HOLD_MS});
      slot.waiters.push(w);`;
    const first = await this.#run((c) => c.executeScript(begin, [arg ?? null]));
    for (let r = first; ; r = null) {
      r ??= await this.#run(async (c) => {
        const out = await c.executeAsyncScript(poll, []);
        await this.#collectErrors(c);
        return out;
      });
      if (r?.pending) continue;
      if (r?.gone) throw new Error('page.evaluate: the page navigated before the function settled');
      if (r && 'error' in r) throw new Error(`page.evaluate: ${r.error}`);
      return r?.value;
    }
  }

  /** Resolves with the function's first truthy value, polled every 50 ms. */
  async waitForFunction(fn, arg, { timeout = 30000 } = {}) {
    const until = Date.now() + timeout;
    for (;;) {
      let v;
      try {
        v = await this.evaluate(fn, arg);
      } catch (e) {
        // A page that is still loading (or navigating) has nothing to answer yet.
        if (!/navigated/.test(e.message) && Date.now() > until) throw e;
      }
      if (v) return v;
      if (Date.now() > until) throw new Error(`page.waitForFunction: timed out after ${timeout} ms: ${fn}`);
      await sleep(50);
    }
  }

  async #element(selector) {
    return this.#run(async (c) => {
      const el = await c.findElement('css selector', selector);
      const id = el?.['element-6066-11e4-a52e-4f735466cecf'];
      if (!id) throw new Error(`no element matches ${selector}`);
      return id;
    });
  }

  async waitForSelector(selector, { timeout = 30000 } = {}) {
    await this.waitForFunction((s) => !!document.querySelector(s), selector, { timeout });
  }

  async click(selector) {
    await this.waitForSelector(selector);
    const id = await this.#element(selector);
    await this.#run((c) => c.elementClick(id));
  }

  async fill(selector, value) {
    await this.waitForSelector(selector);
    const id = await this.#element(selector);
    await this.#run(async (c) => {
      await c.elementClear(id);
      await c.elementSendKeys(id, value);
    });
  }

  async #setChecked(selector, on) {
    const now = await this.evaluate((s) => document.querySelector(s)?.checked, selector);
    if (now !== on) await this.click(selector);
  }

  check(selector) {
    return this.#setChecked(selector, true);
  }

  uncheck(selector) {
    return this.#setChecked(selector, false);
  }

  textContent(selector) {
    return this.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
  }

  /** `url`: a RegExp, or a string where `**` matches anything and `*` anything but `/`. */
  async waitForURL(url, { timeout = 30000 } = {}) {
    const re = url instanceof RegExp ? url : new RegExp(`^${url.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '.*')}$`);
    const until = Date.now() + timeout;
    for (;;) {
      const u = await this.url().catch(() => '');
      if (re.test(u)) return;
      if (Date.now() > until) throw new Error(`page.waitForURL: timed out waiting for ${re} (at ${u})`);
      await sleep(50);
    }
  }

  waitForTimeout(ms) {
    return sleep(ms);
  }

  async close() {
    if (this.closed) return;
    await this.#run(async (c) => {
      if (this.session.pages.size > 1) await c.closeWindow();
      else await c.navigateTo('about:blank');
    }).catch(() => {});
    this.closed = true;
    this.session.pages.delete(this);
    if (this.session.current === this.handle) this.session.current = null;
  }
}
