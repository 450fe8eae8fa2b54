// authFetch in Node against a real HTTP server: every scenario of scenarios.mjs.
import { after, before, test } from 'node:test';
import { createAuthFetch } from 'reauth';
import { control, scenarios } from './scenarios.mjs';
import { startServer } from './server.mjs';

let server, foreign;
const env = {
  createAuthFetch,
  runtime: 'node',
  async captureReports(fn) {
    // Node has no reportError: hook errors go to console.error.
    const reports = [];
    const original = console.error;
    console.error = (e) => reports.push(e);
    try {
      const result = await fn();
      return { result, reports };
    } finally {
      console.error = original;
    }
  },
};

before(async () => {
  server = await startServer();
  foreign = await startServer({ cors: true });
  Object.assign(env, { base: server.url, foreign: foreign.url, control: control(server.url) });
});
after(async () => {
  await server?.close();
  await foreign?.close();
});

for (const [name, run] of Object.entries(scenarios)) {
  test(name, async (t) => {
    const result = await run(env);
    if (result?.skip) t.skip(result.skip);
  });
}
