// reauth/bff/inline: reauth/bff's API and types; the module is inside the package's JS.
export * from './bff.js';
export { default } from './bff.js';
