// reauth/oauth/inline: reauth/oauth's API and types; the module is inside the package's JS.
export * from './oauth.js';
export { default } from './oauth.js';
