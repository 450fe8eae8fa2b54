// The page's script for bench/first-render.mjs (none), bundled with esbuild.
// reauth left out: what the page costs without it.
const authFetch = async () => new Response('ok');
const form = document.createElement('form');
form.innerHTML = '<h1>Sign in</h1><input name="user" placeholder="user"><input name="password" type="password"><button>Log in</button>';
document.body.append(form);
window.rendered = performance.now();
authFetch('/x').then(() => { window.called = performance.now(); });
