// The page's script for bench/first-render.mjs (blocking), bundled with esbuild.
import init, { createAuthFetch } from 'reauth';
await init(); // the README's old way: the app waits for the module
const authFetch = createAuthFetch({ refresh: () => 'x', fetch: async () => new Response('ok') });
const form = document.createElement('form');
form.innerHTML = '<h1>Sign in</h1><input name="user" placeholder="user"><input name="password" type="password"><button>Log in</button>';
document.body.append(form);
window.rendered = performance.now();
authFetch('/x').then(() => { window.called = performance.now(); });
