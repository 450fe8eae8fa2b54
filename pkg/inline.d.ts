// reauth/inline: the main entry's API and types; the module is inside the package's JS.
export * from './index.js';
export { default } from './index.js';
