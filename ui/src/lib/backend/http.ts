// Web dashboard backend: HTTP against dtm-hq under /api/v1 (docs/api.md).
// Data entry and sync belong to the field app, so those methods are unsupported.

import type {
  Account,
  AccountChange,
  AuditPage,
  DeviceInfo,
  Enrolment,
  EnrolRequest,
  Location,
  LocationInput,
  LocationList,
  LocationPatch,
  LocationRef,
  NewAccount,
  OneTimePassword,
  PasswordChange,
  AssessmentDetail,
  AssessmentKey,
  AssessmentSummary,
  Conflict,
  NewRound,
  FieldValue,
  CellError,
  ImportReport,
  FormDef,
  FormSummary,
  KeyFigures,
  LocationTotals,
  LoginReply,
  RejectedOp,
  ResolveRequest,
  ReviewDecision,
  ReviewRequest,
  RoundInfo,
  RoundStatus,
  SentOp,
  LockState,
  Session,
  RoundStatusChange,
  SyncState,
  TotalsInclude,
  Me,
  User,
} from '../api-types';
import { auditQuery } from '../people';
import { locationsQuery } from '../places';
import {
  BackendError,
  ImportRejectedError,
  isApiError,
  type AuditFilter,
  type Backend,
  type LocationQuery,
  exportPath,
  type DownloadedFile,
  type ExportFormat,
  type LoginInput,
  type SignedIn,
  type TotalsLevel,
} from './backend';

/**
 * Where earlier versions kept the session token, readable by any script in the page.
 * The session is now an HttpOnly cookie HQ sets (docs/api.md); a token left here is
 * removed when the backend starts.
 */
export const LEGACY_TOKEN_KEY = 'dtm.token';

/** Sent on every request: at login it asks HQ for a cookie session; on a POST it shows
 * HQ the request comes from its own page, which a cross-site form cannot fake. */
export const CLIENT_HEADER = 'X-DTM-Client';

export interface HttpBackendOptions {
  /** Origin of dtm-hq; defaults to the page's own origin. */
  origin?: string;
  fetch?: typeof fetch;
  storage?: Pick<Storage, 'removeItem'>;
}

function assessmentPath(key: AssessmentKey): string {
  return `/assessments/${encodeURIComponent(key.round)}/${encodeURIComponent(key.form)}/${encodeURIComponent(key.location)}`;
}

/** Turns a non-2xx reply into a BackendError, using `{error:{code,message}}` when present. */
export async function errorFromResponse(res: Response): Promise<BackendError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy page, an empty body): fall through to the status line.
  }
  const error = (body as { error?: unknown } | null)?.error;
  if (isApiError(error)) {
    const rows = (body as { errors?: unknown }).errors;
    if (error.code === 'import_rejected') {
      return new ImportRejectedError(error.message, Array.isArray(rows) ? (rows as CellError[]) : []);
    }
    return new BackendError(error.code, error.message);
  }
  return new BackendError('http_error', `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
}

export class HttpBackend implements Backend {
  readonly kind = 'http' as const;
  private readonly origin: string;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: HttpBackendOptions = {}) {
    this.origin = opts.origin ?? globalThis.location?.origin ?? '';
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
    (opts.storage ?? globalThis.localStorage)?.removeItem(LEGACY_TOKEN_KEY);
  }

  /** Sends a request (the browser adds the session cookie); a non-2xx reply throws a BackendError. */
  private async send(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: unknown,
    raw?: { body: Blob; contentType: string },
    accept = 'application/json',
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept, [CLIENT_HEADER]: 'dashboard' };
    if (raw) headers['Content-Type'] = raw.contentType;
    else if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.origin}/api/v1${path}`, {
        method,
        headers,
        credentials: 'same-origin',
        body: raw ? raw.body : body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new BackendError('network', e instanceof Error ? e.message : String(e));
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  private async request<T>(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: unknown,
    raw?: { body: Blob; contentType: string },
  ): Promise<T> {
    return (await (await this.send(method, path, body, raw)).json()) as T;
  }

  private sessionFor(user: User): Session {
    return { user, hq_url: this.origin, device_id: null };
  }

  async session(): Promise<SignedIn | null> {
    // Script cannot see the HttpOnly cookie; only HQ can say whether there is a session.
    try {
      const { must_change_password, ...user } = await this.request<Me>('GET', '/me');
      return { ...this.sessionFor(user), must_change_password };
    } catch (e) {
      if (e instanceof BackendError && e.code === 'unauthenticated') return null;
      throw e;
    }
  }

  async login({ username, password }: LoginInput): Promise<SignedIn> {
    // HQ answers with the session as an HttpOnly cookie and an empty token.
    const reply = await this.request<LoginReply>('POST', '/auth/login', { username, password });
    return { ...this.sessionFor(reply.user), must_change_password: reply.must_change_password };
  }

  /** The dashboard enrols against its own origin; `hqUrl` is the field app's concern. */
  async enrol(_hqUrl: string, code: string, password: string): Promise<SignedIn> {
    const body: EnrolRequest = { code: code.trim(), password };
    const reply = await this.request<LoginReply>('POST', '/enrol', body);
    return { ...this.sessionFor(reply.user), must_change_password: reply.must_change_password };
  }

  async changePassword(current: string, next: string): Promise<void> {
    const body: PasswordChange = { current_password: current, new_password: next };
    await this.send('POST', '/me/password', body);
  }

  accounts() {
    return this.request<Account[]>('GET', '/users');
  }
  createAccount(account: NewAccount) {
    return this.request<Account>('POST', '/users', account);
  }
  changeAccount(username: string, change: AccountChange) {
    return this.request<Account>('PATCH', `/users/${encodeURIComponent(username)}`, change);
  }
  setDisabled(username: string, disabled: boolean) {
    return this.request<Account>('POST', `/users/${encodeURIComponent(username)}/${disabled ? 'disable' : 'enable'}`);
  }
  resetPassword(username: string) {
    return this.request<OneTimePassword>('POST', `/users/${encodeURIComponent(username)}/password-reset`);
  }
  issueEnrolment(username: string, hours?: number) {
    const query = hours === undefined ? '' : `?hours=${encodeURIComponent(hours)}`;
    return this.request<Enrolment>('POST', `/users/${encodeURIComponent(username)}/enrolments${query}`);
  }
  devices() {
    return this.request<DeviceInfo[]>('GET', '/devices');
  }
  async revokeDevice(deviceId: string, wipe = false): Promise<void> {
    await this.send('POST', `/devices/${encodeURIComponent(deviceId)}/revoke${wipe ? '?wipe=true' : ''}`);
  }
  async handOverDevice(deviceId: string, username: string): Promise<void> {
    await this.send('POST', `/devices/${encodeURIComponent(deviceId)}/hand-over`, { username });
  }
  audit(filter: AuditFilter) {
    return this.request<AuditPage>('GET', `/audit${auditQuery(filter)}`);
  }
  async auditCsv(filter: AuditFilter): Promise<DownloadedFile> {
    const { before: _before, limit: _limit, ...lines } = filter;
    const res = await this.send('GET', `/audit.csv${auditQuery(lines)}`, undefined, undefined, 'text/csv');
    const blob = await res.blob();
    return { blob, filename: attachmentName(res.headers.get('Content-Disposition')) ?? 'dtm-hq-audit.csv' };
  }
  /** Gazetteer places whose English or Arabic name matches `q`; `level` keeps one level. */
  locations(query: LocationQuery) {
    return this.request<LocationList>('GET', `/locations${locationsQuery(query)}`);
  }
  addLocation(input: LocationInput) {
    return this.request<Location>('POST', '/locations', input);
  }
  changeLocation(pcode: string, patch: LocationPatch) {
    return this.request<Location>('PATCH', `/locations/${encodeURIComponent(pcode)}`, patch);
  }
  searchLocations(q: string, level?: number) {
    const lv = level === undefined ? '' : `&level=${encodeURIComponent(level)}`;
    return this.request<LocationRef[]>('GET', `/gazetteer/search?q=${encodeURIComponent(q)}${lv}`);
  }

  async logout(): Promise<void> {
    // HQ ends the session's token and clears the cookie; forgetting it here is not enough.
    try {
      await this.send('POST', '/auth/logout');
    } catch (e) {
      // Already ended (expired, or logged out in another tab): nothing left to end.
      if (!(e instanceof BackendError && e.code === 'unauthenticated')) throw e;
    }
  }

  rounds() {
    return this.request<RoundInfo[]>('GET', '/rounds');
  }
  forms() {
    return this.request<FormSummary[]>('GET', '/forms');
  }

  form(formId: string, version?: number) {
    const query = version === undefined ? '' : `?version=${encodeURIComponent(version)}`;
    return this.request<FormDef>('GET', `/forms/${encodeURIComponent(formId)}${query}`);
  }
  assessments(round: string) {
    return this.request<AssessmentSummary[]>('GET', `/rounds/${encodeURIComponent(round)}/assessments`);
  }
  assessment(key: AssessmentKey) {
    return this.request<AssessmentDetail>('GET', assessmentPath(key));
  }
  review(key: AssessmentKey, decision: ReviewDecision, comment: string) {
    const body: ReviewRequest = { decision, comment };
    return this.request<AssessmentDetail>('POST', `${assessmentPath(key)}/review`, body);
  }

  createRound(req: NewRound) {
    return this.request<RoundInfo>('POST', '/rounds', req);
  }
  setRoundStatus(code: string, status: RoundStatus) {
    const body: RoundStatusChange = { status };
    return this.request<RoundInfo>('POST', `/rounds/${encodeURIComponent(code)}/status`, body);
  }
  importRound(code: string, file: Blob, filename: string, addLocations = false) {
    const add = addLocations ? '?add_locations=true' : '';
    return this.request<ImportReport>('POST', `/rounds/${encodeURIComponent(code)}/import${add}`, undefined, {
      body: file,
      contentType: importContentType(filename),
    });
  }

  conflicts(round: string) {
    return this.request<Conflict[]>('GET', `/rounds/${encodeURIComponent(round)}/conflicts`);
  }
  resolveConflict(id: number, request: ResolveRequest) {
    return this.request<AssessmentDetail>('POST', `/conflicts/${encodeURIComponent(id)}/resolve`, request);
  }
  totals(round: string, level: TotalsLevel, include: TotalsInclude = 'approved') {
    const all = include === 'all' ? '&include=all' : '';
    return this.request<LocationTotals[]>('GET', `/rounds/${encodeURIComponent(round)}/totals?level=${level}${all}`);
  }
  keyFigures(round: string, include: TotalsInclude = 'approved') {
    const all = include === 'all' ? '?include=all' : '';
    return this.request<KeyFigures>('GET', `/rounds/${encodeURIComponent(round)}/key-figures${all}`);
  }
  async exportRound(round: string, format: ExportFormat, include: TotalsInclude = 'approved'): Promise<DownloadedFile> {
    const accept = { csv: 'text/csv', json: 'application/json', xlsx: XLSX_TYPE, dtm: XLSX_TYPE }[format];
    const res = await this.send('GET', exportPath(round, format, include), undefined, undefined, accept);
    const blob = await res.blob();
    const fallback = format === 'dtm' ? `dtm-libya-${round}-published.xlsx` : `dtm-libya-${round}.${format}`;
    return { blob, filename: attachmentName(res.headers.get('Content-Disposition')) ?? fallback };
  }

  async setField(_key: AssessmentKey, _field: string, _value: FieldValue): Promise<AssessmentDetail> {
    throw BackendError.unsupported('setField');
  }
  async setFields(_key: AssessmentKey, _values: [string, FieldValue][]): Promise<AssessmentDetail> {
    throw BackendError.unsupported('setFields');
  }
  async submit(_key: AssessmentKey): Promise<AssessmentDetail> {
    throw BackendError.unsupported('submit');
  }
  /** The dashboard keeps no data of its own to lock. */
  async lockState(): Promise<LockState | null> {
    return null;
  }
  async defaultHqUrl(): Promise<string | null> {
    return location.origin;
  }
  async voidAssessment(_key: AssessmentKey, _reason: string): Promise<AssessmentDetail> {
    throw BackendError.unsupported('voidAssessment');
  }
  async syncNow(): Promise<SyncState> {
    throw BackendError.unsupported('syncNow');
  }
  async rejectedOps(): Promise<RejectedOp[]> {
    throw BackendError.unsupported('rejectedOps');
  }
  async sentLog(_limit?: number): Promise<SentOp[]> {
    throw BackendError.unsupported('sentLog');
  }

  async syncState(): Promise<SyncState> {
    return webSyncState();
  }
  onSyncState(cb: (state: SyncState) => void): () => void {
    const notify = () => cb(webSyncState());
    globalThis.addEventListener?.('online', notify);
    globalThis.addEventListener?.('offline', notify);
    return () => {
      globalThis.removeEventListener?.('online', notify);
      globalThis.removeEventListener?.('offline', notify);
    };
  }
}

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The Content-Type HQ expects for an import file, by its extension: .xlsx or else CSV. */
export function importContentType(filename: string): string {
  return /\.xlsx$/i.test(filename.trim()) ? XLSX_TYPE : 'text/csv';
}

/** The file name of a `Content-Disposition: attachment; filename="…"` header, if it has a safe one. */
export function attachmentName(header: string | null): string | null {
  if (!header) return null;
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header);
  if (!m) return null;
  let name = m[1].trim();
  try {
    name = decodeURIComponent(name);
  } catch {
    // Not percent-encoded; keep as is.
  }
  name = name.replace(/[\\/]/g, '_');
  return name === '' || name.startsWith('.') ? null : name;
}

function webSyncState(): SyncState {
  return {
    online: globalThis.navigator?.onLine ?? true,
    syncing: false,
    pending: 0,
    rejected: 0,
    conflicts: 0,
    superseded: 0,
    pending_logouts: 0,
    last_sync_at: null,
    last_error: null,
    progress: null,
  };
}
