'use client';
// Added for reauth: the page the framework tier drives (tests/js/frameworks.test.mjs).
import { useEffect, useState } from 'react';
import { API, authFailures, authFetch } from '@/lib/auth';

export default function ReauthPage() {
  const [status, setStatus] = useState('idle');
  useEffect(() => {
    // Getters: what the page's imports are now (a hot update may replace the module).
    Reflect.set(globalThis, '__reauth', { get authFetch() { return authFetch; }, get authFailures() { return authFailures; }, api: API });
  }, []);
  async function call() {
    try {
      setStatus(String((await authFetch(`${API}/api/items`)).status));
    } catch (e) {
      setStatus(`error: ${e}`);
    }
  }
  return (
    <main>
      <h1>reauth</h1>
      <button id="call" onClick={call}>Call the API</button>
      <p id="status">{status}</p>
    </main>
  );
}
