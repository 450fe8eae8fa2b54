import { bootstrapApplication } from '@angular/platform-browser';
import { appConfig } from './app/app.config';
import { App } from './app/app';
// Added for reauth: HttpClient's fetch backend (withFetch()) calls the global fetch, so the
// app's requests go through authFetch once it is installed, before the app starts.
import { authFetch } from './app/auth';

globalThis.fetch = authFetch;

bootstrapApplication(App, appConfig)
  .catch((err) => console.error(err));
