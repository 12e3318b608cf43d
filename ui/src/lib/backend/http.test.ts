import { describe, expect, it, vi } from 'vitest';
import { BackendError, ImportRejectedError, exportPath } from './backend';
import { CLIENT_HEADER, HttpBackend, LEGACY_TOKEN_KEY, attachmentName } from './http';

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

/** The dashboard never sends a bearer token; its requests carry the cookie and the client header. */
function expectCookieSession(init?: RequestInit) {
  const headers = init?.headers as Record<string, string>;
  expect(headers.Authorization).toBeUndefined();
  expect(headers[CLIENT_HEADER]).toBe('dashboard');
  expect(init?.credentials).toBe('same-origin');
}

const user = { username: 'supervisor', display_name: 'Supervisor', role: 'supervisor', scope: ['LY'] };
const key = { round: 'R1', form: 'baladiya', location: 'LY021104' };

describe('HttpBackend', () => {
  it('turns an {error:{code,message}} body into a BackendError with that code', async () => {
    const fetch = vi.fn(async () => json(409, { error: { code: 'invalid_transition', message: 'already approved' } }));
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
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

  it('logs in for a cookie session: keeps no token, and marks every request as the dashboard', async () => {
    const storage = memoryStorage();
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      expectCookieSession(init);
      if (String(url).endsWith('/auth/login')) {
        expect(JSON.parse(String(init?.body))).toEqual({ username: 'supervisor', password: 'pw' });
        // HQ sets the HttpOnly cookie; the body's token is empty.
        return json(200, { token: '', user, device_id: 'd', expires_at: '2030-01-01T00:00:00Z' });
      }
      expect(String(url)).toBe('http://hq/api/v1/assessments/R1/baladiya/LY021104/review');
      expect(JSON.parse(String(init?.body))).toEqual({ decision: 'return', comment: 'recheck' });
      return json(200, { ...key, status: 'returned' });
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage });
    const session = await api.login({ username: 'supervisor', password: 'pw' });
    expect(session).toEqual({ user, hq_url: 'http://hq', device_id: null });
    await api.review(key, 'return', 'recheck');
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('asks HQ whether there is a session, since script cannot see the cookie', async () => {
    const signedIn = new HttpBackend({ origin: 'http://hq', fetch: vi.fn(async () => json(200, user)), storage: memoryStorage() });
    expect(await signedIn.session()).toEqual({ user, hq_url: 'http://hq', device_id: null });
    const fetch = vi.fn(async () => json(401, { error: { code: 'unauthenticated', message: 'expired' } }));
    const signedOut = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    expect(await signedOut.session()).toBeNull();
  });

  it('logs out at HQ, so the session ends there and not only in this page', async () => {
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      expect([init?.method, String(url)]).toEqual(['POST', 'http://hq/api/v1/auth/logout']);
      expectCookieSession(init);
      return new Response(null, { status: 204 });
    });
    await new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() }).logout();
    expect(fetch).toHaveBeenCalledTimes(1);
    const ended = vi.fn(async () => json(401, { error: { code: 'unauthenticated', message: 'gone' } }));
    await expect(new HttpBackend({ origin: 'http://hq', fetch: ended, storage: memoryStorage() }).logout()).resolves.toBeUndefined();
    const offline = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    const err = await new HttpBackend({ origin: 'http://hq', fetch: offline, storage: memoryStorage() }).logout().catch((e) => e);
    expect(err.code).toBe('network');
  });

  it('removes a token an earlier version left in localStorage, where injected script could read it', () => {
    const storage = memoryStorage({ [LEGACY_TOKEN_KEY]: 'old' });
    new HttpBackend({ origin: 'http://hq', fetch: vi.fn(), storage });
    expect(storage.getItem(LEGACY_TOKEN_KEY)).toBeNull();
  });

  it('refuses field-app operations with the unsupported code', async () => {
    const api = new HttpBackend({ origin: 'http://hq', fetch: vi.fn(), storage: memoryStorage() });
    expect((await api.setField(key, 'idp_hh', 1).catch((e) => e)).code).toBe('unsupported');
    expect((await api.submit(key).catch((e) => e)).code).toBe('unsupported');
    expect((await api.syncNow().catch((e) => e)).code).toBe('unsupported');
  });
});

describe('HttpBackend round administration', () => {
  it('fetches a form at a given version', async () => {
    const fetch = vi.fn(async (url: string | URL | Request) => {
      expect(String(url)).toBe('http://hq/api/v1/forms/baladiya?version=2');
      return json(200, { id: 'baladiya', version: 2 });
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    expect((await api.form('baladiya', 2)).version).toBe(2);
  });

  it('posts a new round and a status change as JSON', async () => {
    const calls: [string, unknown][] = [];
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      calls.push([String(url), JSON.parse(String(init?.body))]);
      return json(200, { code: 'R2', status: 'open' });
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    const req = { code: 'R2', number: 2, title: 'Round 2', title_ar: 'الجولة 2', window_start: '2026-01-01', window_end: '2026-02-01', forms: [{ form: 'baladiya', version: 2 }] };
    await api.createRound(req);
    await api.setRoundStatus('R2', 'open');
    expect(calls).toEqual([
      ['http://hq/api/v1/rounds', req],
      ['http://hq/api/v1/rounds/R2/status', { status: 'open' }],
    ]);
  });

  it('uploads an import file as the raw body with its content type', async () => {
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      expect(String(url)).toBe('http://hq/api/v1/rounds/R53/import');
      expect((init?.headers as Record<string, string>)['Content-Type']).toBe('text/csv');
      expect(await new Response(init?.body).text()).toBe('pcode,idp_ind\n');
      return json(200, { rows: 1, assessments: 1, totals: { idp_ind: 0 } });
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    expect(await api.importRound('R53', new Blob(['pcode,idp_ind\n']), 'r53.csv')).toEqual({ rows: 1, assessments: 1, totals: { idp_ind: 0 } });
  });

  it('turns a 422 import refusal into an ImportRejectedError with its row errors', async () => {
    const errors = [{ row: 4, column: 'idp_ind', code: 'negative_count', message: 'must be ≥ 0' }];
    const fetch = vi.fn(async () => json(422, { error: { code: 'import_rejected', message: '1 problem' }, errors }));
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    const err = await api.importRound('R53', new Blob(['x']), 'r53.xlsx').catch((e) => e);
    expect(err).toBeInstanceOf(ImportRejectedError);
    expect(err.code).toBe('import_rejected');
    expect(err.errors).toEqual(errors);
  });
});

describe('HttpBackend conflicts, totals and export', () => {
  it('lists conflicts and posts a resolution with the bearer token', async () => {
    const calls: [string, string, unknown][] = [];
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      expectCookieSession(init);
      calls.push([init?.method ?? 'GET', String(url), init?.body ? JSON.parse(String(init.body)) : undefined]);
      return json(200, String(url).endsWith('/conflicts') ? [] : { ...key, open_conflicts: 0 });
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    expect(await api.conflicts('R1')).toEqual([]);
    await api.resolveConflict(7, { choice: 'other', value: 62, reason: 'recount' });
    await api.totals('R1', 1);
    expect(calls).toEqual([
      ['GET', 'http://hq/api/v1/rounds/R1/conflicts', undefined],
      ['POST', 'http://hq/api/v1/conflicts/7/resolve', { choice: 'other', value: 62, reason: 'recount' }],
      ['GET', 'http://hq/api/v1/rounds/R1/totals?level=1', undefined],
    ]);
  });

  it('passes on already_resolved and reason_required', async () => {
    for (const [status, code] of [[409, 'already_resolved'], [422, 'reason_required']] as const) {
      const fetch = vi.fn(async () => json(status, { error: { code, message: code } }));
      const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
      expect((await api.resolveConflict(1, { choice: 'current', reason: 'x' }).catch((e) => e)).code).toBe(code);
    }
  });

  it('downloads the export as a blob with the bearer token and the server file name', async () => {
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      expect(String(url)).toBe('http://hq/api/v1/rounds/R1/export.csv');
      expectCookieSession(init);
      return new Response('region,mantika\n#adm1+code,#adm2+code\n', {
        status: 200,
        headers: { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="dtm-libya-R1.csv"' },
      });
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    const out = await api.exportRound('R1', 'csv');
    expect(out.filename).toBe('dtm-libya-R1.csv');
    expect(await out.blob.text()).toContain('#adm1+code');
  });

  it('reads a safe file name from Content-Disposition, or none', () => {
    expect(attachmentName('attachment; filename="a.csv"')).toBe('a.csv');
    expect(attachmentName("attachment; filename*=UTF-8''r%201.csv")).toBe('r 1.csv');
    expect(attachmentName('attachment; filename="../../x.csv"')).toBeNull();
    expect(attachmentName('attachment; filename="a/b.csv"')).toBe('a_b.csv');
    expect(attachmentName(null)).toBeNull();
    expect(attachmentName('inline')).toBeNull();
  });

  it('enrols with the code as typed and reports when HQ wants the password changed', async () => {
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      expectCookieSession(init);
      expect([init?.method, String(url)]).toEqual(['POST', 'http://hq/api/v1/enrol']);
      expect(JSON.parse(String(init?.body))).toEqual({ code: 'acde-fghj', password: 'olive harbour lantern' });
      return json(200, { token: '', user, device_id: 'd', expires_at: '2030-01-01T00:00:00Z', must_change_password: false });
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    const s = await api.enrol('http://ignored', ' acde-fghj ', 'olive harbour lantern');
    expect(s).toEqual({ user, hq_url: 'http://hq', device_id: null, must_change_password: false });

    const otp = vi.fn(async () => json(200, { token: '', user, device_id: 'd', expires_at: '2030-01-01T00:00:00Z', must_change_password: true }));
    const signedIn = await new HttpBackend({ origin: 'http://hq', fetch: otp, storage: memoryStorage() }).login({ username: 'x', password: 'ACDE-FGHJ-KMNP' });
    expect(signedIn.must_change_password, 'a one-time password must lead to the set-password screen').toBe(true);
  });

  it('sends account changes as PATCH and disabling, resets, enrolments and revocations as POST', async () => {
    const calls: string[] = [];
    const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      expectCookieSession(init);
      calls.push(`${init?.method} ${String(url).replace('http://hq/api/v1', '')}${init?.body ? ` ${init.body}` : ''}`);
      return String(url).includes('/revoke') ? new Response(null, { status: 204 }) : json(200, {});
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    await api.changeAccount('amal.t', { scope: ['LY0211'] });
    await api.setDisabled('amal.t', true);
    await api.setDisabled('amal.t', false);
    await api.resetPassword('amal.t');
    await api.issueEnrolment('amal.t');
    await api.issueEnrolment('amal.t', 24);
    await api.revokeDevice('01a2-ff');
    await api.revokeDevice('01a2-ff', true);
    await api.handOverDevice('01a2-ff', 'amal.t');
    await api.changePassword('old one', 'new one');
    expect(calls).toEqual([
      'PATCH /users/amal.t {"scope":["LY0211"]}',
      'POST /users/amal.t/disable',
      'POST /users/amal.t/enable',
      'POST /users/amal.t/password-reset',
      'POST /users/amal.t/enrolments',
      'POST /users/amal.t/enrolments?hours=24',
      'POST /devices/01a2-ff/revoke',
      'POST /devices/01a2-ff/revoke?wipe=true',
      'POST /devices/01a2-ff/hand-over {"username":"amal.t"}',
      'POST /me/password {"current_password":"old one","new_password":"new one"}',
    ]);
  });

  it('asks for audit pages with the filter, and the CSV with the same lines but no paging', async () => {
    const urls: string[] = [];
    const fetch = vi.fn(async (url: string | URL | Request) => {
      urls.push(String(url).replace('http://hq/api/v1', ''));
      return String(url).includes('.csv')
        ? new Response('id,at\n', { status: 200, headers: { 'Content-Disposition': 'attachment; filename="dtm-hq-audit.csv"' } })
        : json(200, { entries: [], next_before: null });
    });
    const api = new HttpBackend({ origin: 'http://hq', fetch, storage: memoryStorage() });
    await api.audit({ action: 'disable_user', before: 40 });
    const csv = await api.auditCsv({ action: 'disable_user', before: 40 });
    expect(urls).toEqual(['/audit?action=disable_user&before=40', '/audit.csv?action=disable_user']);
    expect(csv.filename).toBe('dtm-hq-audit.csv');
  });
});

describe('export paths', () => {
  it('asks HQ for each format, drafts only on request, and the DTM workbook from approved data only', () => {
    expect(exportPath('R55', 'xlsx')).toBe('/rounds/R55/export.xlsx');
    expect(exportPath('R55', 'json', 'all')).toBe('/rounds/R55/export.json?include=all');
    expect(exportPath('R55', 'dtm', 'all'), 'a published workbook never holds drafts').toBe('/rounds/R55/publish.xlsx');
  });
});
