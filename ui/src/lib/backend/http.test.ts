import { describe, expect, it, vi } from 'vitest';
import { BackendError } from './backend';
import { HttpBackend, TOKEN_KEY } from './http';

function memoryStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  return {
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    removeItem: (k: string) => void data.delete(k),
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const user = { username: 'supervisor', display_name: 'Supervisor', role: 'supervisor', scope: ['LY'] };
const key = { round: 'R1', form: 'baladiya', location: 'LY021104' };

describe('HttpBackend', () => {
  it('turns an {error:{code,message}} body into a BackendError with that code', async () => {
    const fetch = vi.fn(async () => json(409, { error: { code: 'invalid_transition', message: 'already approved' } }));
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage({ [TOKEN_KEY]: 't' }) });
    const err = await api.review(key, 'approve', '').catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.code).toBe('invalid_transition');
    expect(err.message).toBe('already approved');
  });

  it('gives a non-JSON error an http_error code instead of throwing a parse error', async () => {
    const fetch = vi.fn(async () => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    const err = await api.rounds().catch((e) => e);
    expect(err.code).toBe('http_error');
    expect(err.message).toContain('502');
  });

  it('reports a failed connection as network', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    expect((await api.rounds().catch((e) => e)).code).toBe('network');
  });

  it('stores the login token and sends it as a Bearer header', async () => {
    const storage = memoryStorage();
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      if (String(url).endsWith('/auth/login')) {
        expect(JSON.parse(String(init?.body))).toEqual({ username: 'supervisor', password: 'pw' });
        return json(200, { token: 'abc', user, expires_at: '2030-01-01T00:00:00Z' });
      }
      expect(String(url)).toBe('http://hq/api/v1/assessments/R1/baladiya/LY021104/review');
      expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer abc');
      expect(JSON.parse(String(init?.body))).toEqual({ decision: 'return', comment: 'recheck' });
      return json(200, { ...key, status: 'returned' });
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage });
    const session = await api.login({ username: 'supervisor', password: 'pw' });
    expect(session).toEqual({ user, hq_url: 'http://hq', device_id: null });
    expect(storage.getItem(TOKEN_KEY)).toBe('abc');
    await api.review(key, 'return', 'recheck');
  });

  it('has no session without a stored token, and does not call HQ for it', async () => {
    const fetch = vi.fn();
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    expect(await api.session()).toBeNull();
    expect(fetch).not.toHaveBeenCalled();
  });

  it('forgets a token that /me rejects with 401 and reports no session', async () => {
    const storage = memoryStorage({ [TOKEN_KEY]: 'stale' });
    const fetch = vi.fn(async () => json(401, { error: { code: 'unauthenticated', message: 'expired' } }));
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage });
    expect(await api.session()).toBeNull();
    expect(storage.getItem(TOKEN_KEY)).toBeNull();
  });

  it('refuses field-app operations with the unsupported code', async () => {
    const api = new HttpBackend({ origin: 'http://hq', fetch: vi.fn(), storage: memoryStorage() });
    expect((await api.setField(key, 'idp_hh', 1).catch((e) => e)).code).toBe('unsupported');
    expect((await api.submit(key).catch((e) => e)).code).toBe('unsupported');
    expect((await api.syncNow().catch((e) => e)).code).toBe('unsupported');
  });
});
