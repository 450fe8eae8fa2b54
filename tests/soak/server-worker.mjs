// The soak's servers in a worker thread, so that their records do not weigh on the heap the
// soak measures in the caller's thread. Messages: { start: switches } → { api, foreign };
// { reset: plan } → {}; { log: true } → the records; { close: true } → {}.
import { parentPort } from 'node:worker_threads';
import { startSoakServers } from './server.mjs';

let servers;
parentPort.on('message', async (m) => {
  if (m.start) {
    servers = await startSoakServers({ switches: m.start });
    parentPort.postMessage({ api: servers.api, foreign: servers.foreign });
  } else if (m.reset) {
    servers.reset(m.reset);
    parentPort.postMessage({});
  } else if (m.log) {
    parentPort.postMessage(servers.log());
  } else if (m.close) {
    await servers.close();
    parentPort.postMessage({});
  }
});
