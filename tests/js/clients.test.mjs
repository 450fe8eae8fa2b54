// authFetch as the fetch of the clients apps already use (versions pinned in package.json): axios
// (its fetch adapter), ky, ofetch, openapi-fetch, Apollo Client (HttpLink), graphql-request and
// TanStack Query (query-core: fetchQuery passing the query's signal, and a mutation), in Node
// against the real test server; axios and graphql-request also in Chromium, bundled for the page
// with esbuild. Each client makes five requests at once (four GETs and a POST with a JSON body;
// for the GraphQL clients four queries and a mutation, all POSTs) after the server stopped
// accepting the access token: one refresh, every request answered 200 through the client, and the
// server saw each request twice, first with the old token, then once with the new one, the body
// byte for byte the same. TanStack Query also cancels a query that waits for a slow refresh.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuthFetch } from 'reauth';
import axios from 'axios';
import ky from 'ky';
import { ofetch } from 'ofetch';
import createClient from 'openapi-fetch';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { map } from 'rxjs';
import { GraphQLClient } from 'graphql-request';
import { CancelledError, MutationObserver, QueryClient } from '@tanstack/query-core';
import { buildSchema, graphql } from 'graphql';
import { build } from 'esbuild';
import { launchChromium, root } from './helpers.mjs';
import { control } from './scenarios.mjs';
import { startServer } from './server.mjs';

// Each API request is answered this long after it arrived: the five requests of a burst are all
// out with the old token before the first 401 comes back, so each is refused once, then retried.
const DELAY = 250;
const OLD = 'Bearer at-0';
const NEW = 'Bearer at-1';

// A tiny GraphQL API at /api/graphql, executed by graphql-js; it answers with the Authorization
// header it was sent, so the data a client hands back says which token the server accepted.
const schema = buildSchema(`
  type Echo { msg: String! auth: String bytes: Int! }
  type Query { echo(msg: String!): Echo! }
  type Mutation { save(note: String!): Echo! }
`);
async function graphqlRoute(body, req) {
  const { query, variables, operationName } = JSON.parse(body.toString());
  const echo = (msg) => ({ msg, auth: req.headers.authorization ?? null, bytes: body.length });
  return graphql({
    schema,
    source: query,
    variableValues: variables,
    operationName,
    rootValue: { echo: ({ msg }) => echo(msg), save: ({ note }) => echo(note) },
  });
}

// What a POST carries: characters outside ASCII, so the bytes matter.
const payload = (client) => ({ client, note: 'café ☕ — ünïcødé', list: [1, 2, 3], nested: { ok: true } });

let server, ctl;
before(async () => {
  server = await startServer({ routes: { '/api/graphql': graphqlRoute } });
  ctl = control(server.url);
});
after(() => server?.close());

/** A logged-in authFetch whose access token the server no longer accepts; `config` sets the
 * server's knobs first. The refresh hook talks to the server's /token with ctx.fetch. */
async function expired(config = {}) {
  await ctl.reset();
  await ctl.config(config);
  const refreshes = [];
  const failures = [];
  const events = [];
  const af = createAuthFetch({
    origins: [server.url],
    async refresh(ctx) {
      refreshes.push(ctx.refreshToken);
      const r = await ctx.fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: ctx.refreshToken }),
      });
      if (!r.ok) throw new Error(`token endpoint answered ${r.status}`);
      const j = await r.json();
      return { accessToken: j.access_token, refreshToken: j.refresh_token, expiresIn: j.expires_in };
    },
    onAuthFailure: (info) => failures.push(info.reason),
    onEvent: (e) => events.push(e.type),
  });
  af.setTokens({ accessToken: 'at-0', refreshToken: 'rt-0' });
  await ctl.expire();
  return { af, refreshes, failures, events };
}

/** The server's requests grouped by method, path and body bytes: one group per request the
 * client made. Asserts there are `count` and each was refused with the old token, then retried
 * once with the new one (same body, same content type). */
function retriedOnce(st, count) {
  const groups = new Map();
  for (const r of st.requests) {
    const key = `${r.method} ${r.path} ${r.body}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const seen = [...groups.values()].map((g) => g.map((r) => [r.method, r.path, r.auth, r.ok]));
  assert.equal(groups.size, count, `requests the server saw: ${JSON.stringify(seen)}`);
  for (const g of groups.values()) {
    assert.deepEqual(g.map((r) => [r.auth, r.ok]), [[OLD, false], [NEW, true]], `${g[0].method} ${g[0].path}: ${JSON.stringify(seen)}`);
    assert.equal(g[1].contentType, g[0].contentType, `${g[0].method} ${g[0].path}: the retry's content type`);
  }
  return [...groups.values()].map(([first]) => ({
    method: first.method,
    path: first.path,
    contentType: first.contentType,
    body: Buffer.from(first.body, 'base64').toString(),
  }));
}

/** One refresh on the server and in the hook, no failure. */
function oneRefresh({ refreshes, failures, events }) {
  assert.equal(server.state.refreshCalls, 1, 'refresh calls on the server');
  assert.deepEqual(refreshes, ['rt-0'], 'refresh hook calls');
  assert.deepEqual(failures, [], 'onAuthFailure calls');
  assert.equal(events.filter((e) => e === 'refresh-start').length, 1, 'refresh-start events');
  assert.equal(events.filter((e) => e === 'refresh-success').length, 1, 'refresh-success events');
}

/** Checks a REST burst: `results` ([status, parsed body] per request, as the client gave them)
 * for GETs of /api/<name>/get-0..3 and a POST of payload(name) to /api/<name>/post, in that
 * order, and what the server received. */
function checkRest(name, results) {
  const gets = [0, 1, 2, 3].map((i) => `/api/${name}/get-${i}`);
  const post = `/api/${name}/post`;
  const body = JSON.stringify(payload(name));
  assert.deepEqual(results.map(([status]) => status), [200, 200, 200, 200, 200], 'statuses through the client');
  assert.deepEqual(results.map(([, data]) => data.path), [...gets, post], 'the server\'s answers through the client');
  assert.equal(results[4][1].bytes, Buffer.byteLength(body), 'the POST\'s retry carried the whole body');
  assert.equal(server.state.refreshCalls, 1, 'refresh calls on the server');
  const requests = retriedOnce(server.state, 5);
  assert.deepEqual(requests.map((r) => `${r.method} ${r.path}`).sort(), [...gets.map((p) => `GET ${p}`), `POST ${post}`].sort());
  const posted = requests.find((r) => r.method === 'POST');
  assert.equal(posted.body, body, 'the POST body, byte for byte');
  assert.match(posted.contentType ?? '', /^application\/json/);
  for (const r of requests.filter((q) => q.method === 'GET')) assert.equal(r.body, '', `${r.path} has no body`);
}

/** A REST client's burst in Node: `client(authFetch)` returns send(method, path, body?), which
 * resolves with [status, parsed body] as the client gives them. */
async function restBurst(name, client) {
  const s = await expired();
  const send = client(s.af);
  const results = await Promise.all([
    ...[0, 1, 2, 3].map((i) => send('GET', `/api/${name}/get-${i}`)),
    send('POST', `/api/${name}/post`, payload(name)),
  ]);
  oneRefresh(s);
  checkRest(name, results);
}

/** Checks a GraphQL burst: `results` ([status, echo] per operation, as the client gave them)
 * for the queries `msgs` and the mutation `note`, and what the server received. */
function checkGraphql(results, msgs, note) {
  assert.deepEqual(results.map(([status]) => status), [200, 200, 200, 200, 200], 'statuses through the client');
  assert.deepEqual(results.map(([, d]) => [d.msg, d.auth]), [...msgs, note].map((m) => [m, NEW]), 'the data through the client');
  assert.equal(server.state.refreshCalls, 1, 'refresh calls on the server');
  const requests = retriedOnce(server.state, 5);
  for (const r of requests) {
    assert.deepEqual([r.method, r.path], ['POST', '/api/graphql']);
    assert.match(r.contentType ?? '', /^application\/json/);
  }
  const sent = requests.map((r) => JSON.parse(r.body).variables).map((v) => v.msg ?? v.note).sort();
  assert.deepEqual(sent, [...msgs, note].sort(), 'each operation sent (and resent) its own variables');
  // The answer's byte count is that of the retry's body: the whole of it reached the server.
  for (const [, d] of results) assert.equal(d.bytes, Buffer.byteLength(requests.find((r) => r.body.includes(JSON.stringify(d.msg))).body));
}

const graphqlArgs = (name) => [[0, 1, 2, 3].map((i) => `${name} query ${i} ✓`), `${name} mutation: café ☕`];

/** A GraphQL client's burst in Node: `client(authFetch)` returns { query(msg), mutate(note) },
 * each resolving with [status, echo]. */
async function graphqlBurst(name, client) {
  const s = await expired();
  const [msgs, note] = graphqlArgs(name);
  const c = client(s.af);
  const results = await Promise.all([...msgs.map((m) => c.query(m)), c.mutate(note)]);
  oneRefresh(s);
  checkGraphql(results, msgs, note);
}

const ECHO = 'query Echo($msg: String!) { echo(msg: $msg) { msg auth bytes } }';
const SAVE = 'mutation Save($note: String!) { save(note: $note) { msg auth bytes } }';
const version = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

describe('in Node', () => {
  test(`axios ${version('axios')}: axios.create({ adapter: 'fetch', env: { fetch: authFetch } })`, () =>
    restBurst('axios', (authFetch) => {
      const client = axios.create({ baseURL: server.url, adapter: 'fetch', env: { fetch: authFetch } });
      return async (method, url, data) => {
        const r = await client.request({ method, url, params: { delay: DELAY }, data });
        return [r.status, r.data];
      };
    }));

  test(`ky ${version('ky')}: ky.create({ fetch: authFetch })`, () =>
    restBurst('ky', (authFetch) => {
      const client = ky.create({ prefixUrl: server.url, fetch: authFetch, retry: 0 });
      return async (method, path, json) => {
        const r = await client(path.slice(1), { method, searchParams: { delay: DELAY }, json });
        return [r.status, await r.json()];
      };
    }));

  test(`ofetch ${version('ofetch')}: ofetch.create(defaults, { fetch: authFetch })`, () =>
    restBurst('ofetch', (authFetch) => {
      // The fetch is a global option: create's second argument (the first holds request defaults).
      const client = ofetch.create({ baseURL: server.url, retry: 0 }, { fetch: authFetch });
      return async (method, path, body) => {
        const r = await client.raw(path, { method, query: { delay: DELAY }, body });
        return [r.status, r._data];
      };
    }));

  test(`openapi-fetch ${version('openapi-fetch')}: createClient({ baseUrl, fetch: authFetch })`, () =>
    restBurst('openapi-fetch', (authFetch) => {
      const client = createClient({ baseUrl: server.url, fetch: authFetch });
      return async (method, path, body) => {
        const { data, error, response } = await client.request(method.toLowerCase(), path, { params: { query: { delay: DELAY } }, body });
        if (error) throw new Error(`openapi-fetch: ${JSON.stringify(error)}`);
        return [response.status, data];
      };
    }));

  test(`Apollo Client ${version('@apollo/client')}: new HttpLink({ uri, fetch: authFetch })`, () =>
    graphqlBurst('Apollo Client', (authFetch) => {
      // The status of the response each operation's result came from, as the HttpLink put it in
      // the operation's context.
      const statusOf = new Map();
      const statuses = new ApolloLink((operation, forward) => forward(operation).pipe(map((result) => {
        statusOf.set(JSON.stringify(operation.variables), operation.getContext().response?.status);
        return result;
      })));
      const client = new ApolloClient({
        link: ApolloLink.from([statuses, new HttpLink({ uri: `${server.url}/api/graphql?delay=${DELAY}`, fetch: authFetch })]),
        cache: new InMemoryCache(),
      });
      const query = gql(ECHO);
      const mutation = gql(SAVE);
      return {
        async query(msg) {
          const r = await client.query({ query, variables: { msg }, fetchPolicy: 'no-cache' });
          return [statusOf.get(JSON.stringify({ msg })), r.data.echo];
        },
        async mutate(note) {
          const r = await client.mutate({ mutation, variables: { note } });
          return [statusOf.get(JSON.stringify({ note })), r.data.save];
        },
      };
    }));

  test(`graphql-request ${version('graphql-request')}: new GraphQLClient(url, { fetch: authFetch })`, () =>
    graphqlBurst('graphql-request', (authFetch) => {
      const client = new GraphQLClient(`${server.url}/api/graphql?delay=${DELAY}`, { fetch: authFetch });
      return {
        async query(msg) {
          const r = await client.rawRequest(ECHO, { msg });
          return [r.status, r.data.echo];
        },
        async mutate(note) {
          const r = await client.rawRequest(SAVE, { note });
          return [r.status, r.data.save];
        },
      };
    }));

  test(`TanStack Query ${version('@tanstack/query-core')}: fetchQuery with queryFn ({ signal }) => authFetch(url, { signal }), and a mutation`, () =>
    restBurst('tanstack', (authFetch) => {
      const queryClient = new QueryClient();
      const call = async (url, init) => {
        const r = await authFetch(`${server.url}${url}?delay=${DELAY}`, init);
        return [r.status, await r.json()];
      };
      const mutation = new MutationObserver(queryClient, {
        mutationFn: (body) => call('/api/tanstack/post', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      return (method, path, body) => method === 'GET'
        ? queryClient.fetchQuery({ queryKey: ['tanstack', path], queryFn: ({ signal }) => call(path, { signal }) })
        : mutation.mutate(body);
    }));

  test('TanStack Query: a query cancelled while it waits for a slow refresh rejects with an AbortError at once; the refresh completes once, for the others', async () => {
    const s = await expired({ refreshDelay: 800 });
    const queryClient = new QueryClient();
    const calls = {};
    const fetchQuery = (name) => queryClient.fetchQuery({
      queryKey: ['slow', name],
      queryFn: async ({ signal }) => {
        const r = await (calls[name] = s.af(`${server.url}/api/tanstack/${name}`, { signal }));
        return [r.status, await r.json()];
      },
    });
    const cancelled = fetchQuery('cancelled');
    const kept = fetchQuery('kept');
    cancelled.catch(() => {});
    kept.catch(() => {});
    // Both were refused and wait for the refresh the first 401 started.
    const t0 = Date.now();
    while (!(server.state.refreshCalls === 1 && server.state.requests.length === 2)) {
      assert.ok(Date.now() - t0 < 5000, `the refresh did not start: ${JSON.stringify(server.state.requests)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await queryClient.cancelQueries({ queryKey: ['slow', 'cancelled'], exact: true });
    const error = await calls.cancelled.then(() => null, (e) => e);
    assert.equal(error?.name, 'AbortError', `authFetch's call: ${error}`);
    assert.equal(s.events.includes('refresh-success'), false, 'rejected before the refresh completed');
    await assert.rejects(cancelled, (e) => e instanceof CancelledError, 'fetchQuery rejects with TanStack\'s CancelledError');
    assert.deepEqual(await kept, [200, { ok: true, path: '/api/tanstack/kept', bytes: 0 }]);
    oneRefresh(s);
    // The cancelled call was never retried; the kept one was, once, with the new token.
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(server.state.requests.map((r) => `${r.path} ${r.auth} ${r.ok}`).sort(), [
      `/api/tanstack/cancelled ${OLD} false`,
      `/api/tanstack/kept ${OLD} false`,
      `/api/tanstack/kept ${NEW} true`,
    ]);
    // The same query, run again, goes out with the new token and no second refresh.
    assert.deepEqual(await fetchQuery('cancelled'), [200, { ok: true, path: '/api/tanstack/cancelled', bytes: 0 }]);
    assert.equal(server.state.refreshCalls, 1);
    assert.deepEqual(server.state.requests.at(-1).auth, NEW);
    queryClient.clear();
  });
});

describe('in Chromium', () => {
  const bundle = 'target/clients-test/clients.js';
  let browser, page;
  const pageErrors = [];

  before(async () => {
    // axios and graphql-request for the page, as an app's bundler would ship them.
    mkdirSync(join(root, 'target/clients-test'), { recursive: true });
    await build({
      stdin: {
        contents: "export { default as axios } from 'axios'; export { GraphQLClient } from 'graphql-request';",
        resolveDir: root,
        loader: 'js',
      },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(root, bundle),
      logLevel: 'error',
    });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${server.url}/tests/js/fixtures/blank.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
  });
  after(() => browser?.close());

  /** Runs a burst in the page with `client` ('axios' or 'graphql-request'); resolves with the
   * page's results, refresh hook calls and onAuthFailure calls. */
  const inPage = (client, args) => page.evaluate(async ({ client, args, bundle, delay, SAVE, ECHO }) => {
    const { default: init, createAuthFetch } = await import('/pkg/index.js');
    await init();
    const { axios, GraphQLClient } = await import(`/${bundle}`);
    const post = (path) => fetch(path, { method: 'POST', body: '{}' }).then((r) => r.json());
    await post('/__control/reset');
    const refreshes = [];
    const failures = [];
    const authFetch = createAuthFetch({
      async refresh(ctx) {
        refreshes.push(ctx.refreshToken);
        const r = await ctx.fetch('/token', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refreshToken: ctx.refreshToken }),
        });
        if (!r.ok) throw new Error(`token endpoint answered ${r.status}`);
        const j = await r.json();
        return { accessToken: j.access_token, refreshToken: j.refresh_token, expiresIn: j.expires_in };
      },
      onAuthFailure: (info) => failures.push(info.reason),
    });
    authFetch.setTokens({ accessToken: 'at-0', refreshToken: 'rt-0' });
    await post('/__control/expire');
    let results;
    if (client === 'axios') {
      const api = axios.create({ adapter: 'fetch', env: { fetch: authFetch } });
      const send = (method, url, data) => api.request({ method, url, params: { delay }, data }).then((r) => [r.status, r.data]);
      results = await Promise.all([
        ...[0, 1, 2, 3].map((i) => send('GET', `/api/axios/get-${i}`)),
        send('POST', '/api/axios/post', args.payload),
      ]);
    } else {
      const gql = new GraphQLClient(`${location.origin}/api/graphql?delay=${delay}`, { fetch: authFetch });
      results = await Promise.all([
        ...args.msgs.map((msg) => gql.rawRequest(ECHO, { msg }).then((r) => [r.status, r.data.echo])),
        gql.rawRequest(SAVE, { note: args.note }).then((r) => [r.status, r.data.save]),
      ]);
    }
    return { results, refreshes, failures, version: client === 'axios' ? axios.VERSION : null };
  }, { client, args, bundle, delay: DELAY, SAVE, ECHO });

  test(`axios ${version('axios')} (fetch adapter) in a page`, async () => {
    const got = await inPage('axios', { payload: payload('axios') });
    assert.equal(got.version, version('axios'));
    assert.deepEqual(got.refreshes, ['rt-0']);
    assert.deepEqual(got.failures, []);
    checkRest('axios', got.results);
  });

  test(`graphql-request ${version('graphql-request')} in a page`, async () => {
    const [msgs, note] = graphqlArgs('graphql-request in Chromium');
    const got = await inPage('graphql-request', { msgs, note });
    assert.deepEqual(got.refreshes, ['rt-0']);
    assert.deepEqual(got.failures, []);
    checkGraphql(got.results, msgs, note);
  });

  test('no uncaught errors on the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
