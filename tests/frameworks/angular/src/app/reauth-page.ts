// Added for reauth: the page the framework tier drives (tests/js/frameworks.test.mjs). Its
// calls go through HttpClient, whose fetch backend calls the global fetch: authFetch.
import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { Component, inject, signal } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import { API, authFailures, authFetch } from './auth';

@Component({
  selector: 'app-reauth-page',
  template: `
    <h1>reauth</h1>
    <button id="call" (click)="call()">Call the API</button>
    <p id="status">{{ status() }}</p>
  `,
})
export class ReauthPage {
  private readonly http = inject(HttpClient);
  protected readonly status = signal('idle');

  constructor() {
    Reflect.set(globalThis, '__reauth', {
      get authFetch() { return authFetch; },
      get authFailures() { return authFailures; },
      api: API,
      get: (path: string) => this.get(path),
    });
  }

  /** GET `path` on the API through HttpClient; resolves with the status. */
  async get(path: string): Promise<number> {
    try {
      return (await firstValueFrom(this.http.get(`${API}${path}`, { observe: 'response' }))).status;
    } catch (e) {
      if (e instanceof HttpErrorResponse) return e.status;
      throw e;
    }
  }

  async call(): Promise<void> {
    this.status.set(String(await this.get('/api/items')));
  }
}
