// The demo page, served by the demo server, parses headers live in Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { launchChromium, root } from './helpers.mjs';

let server, url, browser;
before(async () => {
  server = spawn(process.execPath, [join(root, 'scripts/serve.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(server.stdout, 'data');
  url = String(line).match(/http:\/\/\S+/)[0];
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  server?.kill('SIGINT');
});

test('the demo page parses the header typed into it', async () => {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.demoReady === true);
  assert.match(await page.textContent('#out'), /error = "invalid_token"/);
  await page.fill('#header', 'Basic realm=foobar@baz.com');
  assert.equal(await page.textContent('#out .error'), "ChallengeParseError: expected ',' or the end of the header at byte 18");
  await page.fill('#header', 'Negotiate abc==, Basic realm="x"');
  assert.equal(await page.locator('#out tr').count(), 3);
});

test('the demo server stops cleanly on Ctrl-C', async () => {
  const child = spawn(process.execPath, [join(root, 'scripts/serve.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout, 'data');
  child.kill('SIGINT');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});
