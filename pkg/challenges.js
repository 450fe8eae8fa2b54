// parseChallenges: the wasm parser's compact output turned into plain objects.
import { ex, put, take } from './wasm.js';

/**
 * Parses a `WWW-Authenticate` header value (RFC 9110 §11) into its challenges:
 * `{ scheme, token68, params: [name, value][] }`, names lower-cased, values unescaped. Throws an
 * `Error` named `ChallengeParseError` whose message ends with "at byte N".
 */
export function parseChallenges(header) {
  if (typeof header !== 'string') throw new TypeError('parseChallenges: the header must be a string');
  const n = ex.inspect(0, put(header)); // status 0: only the challenges are wanted
  const out = take(n < 0 ? -1 : n >> 1) ?? '';
  if (out.charCodeAt(0) === 2) {
    const e = new Error(out.slice(1));
    e.name = 'ChallengeParseError';
    throw e;
  }
  // Challenges are separated by U+0001, fields by NUL: scheme, token68 ('' when absent), then
  // name/value pairs. No parsed value can contain either character.
  return out === '' ? [] : out.split('\u0001').map((c) => {
    const f = c.split('\0');
    const params = [];
    for (let i = 2; i < f.length; i += 2) params.push([f[i], f[i + 1]]);
    return { scheme: f[0], token68: f[1] || null, params };
  });
}
