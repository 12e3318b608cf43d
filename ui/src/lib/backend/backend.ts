// The one interface the UI talks to. Two implementations: Tauri IPC in the
// field app (tauri.ts) and HTTP against dtm-hq in the web dashboard (http.ts).
// Components never call `invoke` or `fetch` themselves.

import type {
  Account,
  AccountChange,
  ApiError,
  AuditPage,
  DeviceInfo,
  Enrolment,
  ErrorCode,
  NewAccount,
  OneTimePassword,
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
  LocationRef,
  Location,
  LocationInput,
  LocationList,
  LocationPatch,
  KeyFigures,
  LocationTotals,
  RejectedOp,
  ResolveRequest,
  ReviewDecision,
  RoundInfo,
  RoundStatus,
  SentOp,
  LockState,
  Session,
  SyncState,
  TotalsInclude,
} from '../api-types';

/** Which locations `locations()` lists: at a level, under a P-code, matching a name; retired ones on request. */
export interface LocationQuery {
  level?: number;
  within?: string;
  q?: string;
  retired?: boolean;
}
import { ERROR_CODES } from '../generated/errorCodes';

export type BackendKind = 'tauri' | 'http';

/** The level totals are summed at (a query parameter): 1 region, 2 mantika, 3 baladiya. */
export type TotalsLevel = 1 | 2 | 3;

export interface LoginInput {
  /** Only the field app needs it; the web dashboard talks to its own origin. */
  hqUrl?: string;
  username: string;
  password: string;
}

/**
 * A session just opened. `must_change_password`: the password was a one-time one; HQ
 * answers nothing but `/me`, `/me/password` and logout until it is changed.
 */
export type SignedIn = Session & { must_change_password?: boolean };

/** Which audit lines to show: all optional; dates are YYYY-MM-DD, `before` an entry id. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  from?: string;
  to?: string;
  before?: number;
  limit?: number;
}

export interface Backend {
  readonly kind: BackendKind;
  session(): Promise<SignedIn | null>;
  /** Whether the device's data is encrypted and locked (field app); null on HQ's dashboard. */
  lockState(): Promise<LockState | null>;
  login(input: LoginInput): Promise<SignedIn>;
  logout(): Promise<void>;
  /**
   * Joins HQ with a one-time enrolment code (as typed, or the QR link) and sets the
   * account's password; signs in. `hqUrl` matters only in the field app.
   */
  enrol(hqUrl: string, code: string, password: string): Promise<SignedIn>;
  /** Changes the signed-in person's own password. */
  changePassword(current: string, next: string): Promise<void>;
  rounds(): Promise<RoundInfo[]>;
  /** The form at `version` (an assessment's `form_version`); the current one without it. */
  form(formId: string, version?: number): Promise<FormDef>;
  /** Every form and version HQ can collect, for a new round (HQ only). */
  forms(): Promise<FormSummary[]>;
  assessments(round: string): Promise<AssessmentSummary[]>;
  assessment(key: AssessmentKey): Promise<AssessmentDetail>;
  setField(key: AssessmentKey, field: string, value: FieldValue): Promise<AssessmentDetail>;
  /** Several fields of one assessment saved together, all or none (a row pasted into the entry grid). */
  setFields(key: AssessmentKey, values: [string, FieldValue][]): Promise<AssessmentDetail>;
  submit(key: AssessmentKey): Promise<AssessmentDetail>;
  /** The HQ the field app is configured for, to prefill the login screen. */
  defaultHqUrl(): Promise<string | null>;
  /** Withdraws an assessment entered by mistake (field app); its values are kept. */
  voidAssessment(key: AssessmentKey, reason: string): Promise<AssessmentDetail>;
  review(key: AssessmentKey, decision: ReviewDecision, comment: string): Promise<AssessmentDetail>;
  syncNow(): Promise<SyncState>;
  syncState(): Promise<SyncState>;
  /** Calls `cb` on every change; returns the function that stops listening. */
  onSyncState(cb: (state: SyncState) => void): () => void;
  /** Operations HQ did not apply: refused, in conflict or superseded (`state` says which). */
  rejectedOps(): Promise<RejectedOp[]>;
  /** The field app's sent log, newest first: what it pushed and HQ answered. */
  sentLog(limit?: number): Promise<SentOp[]>;
  // Round administration (HQ web dashboard, role admin). The field app throws `unsupported`.
  createRound(req: NewRound): Promise<RoundInfo>;
  setRoundStatus(code: string, status: RoundStatus): Promise<RoundInfo>;
  /** Uploads a past round's CSV or XLSX; a refused file throws an ImportRejectedError. */
  /** With `addLocations`, P-codes the gazetteer lacks are added from their rows' names first. */
  importRound(code: string, file: Blob, filename: string, addLocations?: boolean): Promise<ImportReport>;
  // Conflicts, totals and export (HQ web dashboard, supervisor/admin). The field app throws `unsupported`.
  /** The round's conflicts in the caller's scope, open ones first. */
  conflicts(round: string): Promise<Conflict[]>;
  /** Settles a conflict; answers with the assessment as it now stands. */
  resolveConflict(id: number, request: ResolveRequest): Promise<AssessmentDetail>;
  /** Count-field sums per region (1), mantika (2) or baladiya (3). */
  /** Approved figures unless `include` is `'all'` (drafts, submitted and returned too). */
  totals(round: string, level: TotalsLevel, include?: TotalsInclude): Promise<LocationTotals[]>;
  /** The round's key figures beside the previous round's (approved data unless `all`). */
  keyFigures(round: string, include?: TotalsInclude): Promise<KeyFigures>;
  /** The round as an HXL-tagged CSV file. */
  /** A round's data as a file: HXL CSV, XLSX (English and Arabic labels), JSON, or DTM's published workbook. */
  exportRound(round: string, format: ExportFormat, include?: TotalsInclude): Promise<DownloadedFile>;
  // People, devices and the audit log (HQ web dashboard). The field app throws `unsupported`.
  /** Admins see everyone; a supervisor the enumerators inside their scope. */
  accounts(): Promise<Account[]>;
  /** The new account has no usable password: issue an enrolment code or reset its password next. */
  createAccount(account: NewAccount): Promise<Account>;
  changeAccount(username: string, change: AccountChange): Promise<Account>;
  /** Disabling ends every session of the account at once; its data stays. */
  setDisabled(username: string, disabled: boolean): Promise<Account>;
  /** A one-time password, shown once; the person must change it at first sign-in. */
  resetPassword(username: string): Promise<OneTimePassword>;
  issueEnrolment(username: string, hours?: number): Promise<Enrolment>;
  devices(): Promise<DeviceInfo[]>;
  /** With `wipe`, the device also removes its data once it has pushed what it holds (a lost or stolen laptop). */
  revokeDevice(deviceId: string, wipe?: boolean): Promise<void>;
  /** Lets another account open the device's encrypted data at its next sign-in there (a laptop passed on). */
  handOverDevice(deviceId: string, username: string): Promise<void>;
  /** Newest first; `next_before` asks for the next page (admin). */
  audit(filter: AuditFilter): Promise<AuditPage>;
  /** The lines the filter selects as a CSV file (admin). */
  auditCsv(filter: AuditFilter): Promise<DownloadedFile>;
  /** Gazetteer places whose English or Arabic name matches `q` (scope picker). */
  searchLocations(q: string, level?: number): Promise<LocationRef[]>;
  // The gazetteer (HQ's Locations page): anyone signed in reads it, admins change it.
  locations(query: LocationQuery): Promise<LocationList>;
  addLocation(input: LocationInput): Promise<Location>;
  changeLocation(pcode: string, patch: LocationPatch): Promise<Location>;
}

/** The formats a round exports in; `dtm` is DTM Libya's published workbook (approved data only). */
export type ExportFormat = 'csv' | 'xlsx' | 'json' | 'dtm';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'xlsx', 'json', 'dtm'];

/** The API path of a round's export in a format. */
export function exportPath(round: string, format: ExportFormat, include: TotalsInclude = 'approved'): string {
  const r = encodeURIComponent(round);
  if (format === 'dtm') return `/rounds/${r}/publish.xlsx`;
  return `/rounds/${r}/export.${format}${include === 'all' ? '?include=all' : ''}`;
}

/** A downloaded export: the file and the name to save it under. */
export interface DownloadedFile {
  blob: Blob;
  filename: string;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** Every failure from a backend: a stable code to branch on, a message to fall back to. */
export class BackendError extends Error implements ApiError {
  readonly code: ErrorCode;

  /** A code this build does not know (a newer HQ's) becomes `unknown`, as in Rust. */
  constructor(code: string, message: string) {
    super(message);
    this.name = 'BackendError';
    this.code = KNOWN_CODES.has(code) ? (code as ErrorCode) : 'unknown';
  }

  static unsupported(what: string): BackendError {
    return new BackendError('unsupported', `${what} is not available here`);
  }

  /** Normalises whatever a promise rejected with (ApiError object, string, Error). */
  static from(e: unknown, fallbackCode: ErrorCode = 'ipc'): BackendError {
    if (e instanceof BackendError) return e;
    if (isApiError(e)) return new BackendError(e.code, e.message);
    if (e instanceof Error) return new BackendError(fallbackCode, e.message);
    return new BackendError(fallbackCode, String(e));
  }
}

export function isApiError(v: unknown): v is ApiError {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as ApiError).code === 'string' &&
    typeof (v as ApiError).message === 'string'
  );
}

/** HQ refused an import file: `errors` says which row and column, and why. */
export class ImportRejectedError extends BackendError {
  readonly errors: CellError[];

  constructor(message: string, errors: CellError[]) {
    super('import_rejected', message);
    this.name = 'ImportRejectedError';
    this.errors = errors;
  }
}
