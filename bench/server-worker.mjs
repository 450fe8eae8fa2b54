// Runs the bench server in a worker thread and posts its port.
import { parentPort } from 'node:worker_threads';
import { startBenchServer } from './server.mjs';

const { port } = await startBenchServer();
parentPort.postMessage({ port });
