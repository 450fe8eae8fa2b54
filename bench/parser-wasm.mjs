// The parser through its JS export, in Node: headers parsed per second by parseChallenges (the
// JS objects it returns included), on the same eight headers as benches/parse.rs.
// Run: node bench/parser-wasm.mjs
import { parseChallenges } from '../pkg/node.js';

const HEADERS = [
  'Bearer realm="example", error="invalid_token", error_description="The access token expired"',
  'Bearer realm="example"',
  'Bearer error="insufficient_scope", scope="openid profile email"',
  'Basic realm="simple", Newauth realm="apps", type=1, title="Login to \\"apps\\""',
  'Digest realm="example.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
  'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
  'DPoP algs="ES256 PS256", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
  'Basic realm="foo"',
];
const ITERS = 20_000;
let sink = 0;
const rate = () => {
  const t0 = performance.now();
  for (let i = 0; i < ITERS; i++) for (const h of HEADERS) sink += parseChallenges(h).length;
  return (ITERS * HEADERS.length) / ((performance.now() - t0) / 1000);
};
for (let i = 0; i < 3; i++) rate();
const rates = Array.from({ length: 11 }, rate).sort((a, b) => a - b);
console.log(`headers/s  reauth wasm (parseChallenges from JS)  ${Math.round(rates[5])}  (min ${Math.round(rates[0])}, max ${Math.round(rates[10])})`);
if (sink === 0) console.log('');
