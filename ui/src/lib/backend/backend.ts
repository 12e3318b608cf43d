// The one interface the UI talks to. Two implementations: Tauri IPC in the
// field app (tauri.ts) and HTTP against dtm-hq in the web dashboard (http.ts).
// Components never call `invoke` or `fetch` themselves.

import type {
  ApiError,
  AssessmentDetail,
  AssessmentKey,
  AssessmentSummary,
  Conflict,
  CreateRoundRequest,
  FieldValue,
  ImportRowError,
  ImportSummary,
  FormDef,
  LocationTotals,
  RejectedOp,
  ResolveRequest,
  ReviewDecision,
  RoundInfo,
  RoundStatus,
  SentOp,
  Session,
  SyncState,
  TotalsInclude,
  TotalsLevel,
} from '../api-types';

export type BackendKind = 'tauri' | 'http';

export interface LoginInput {
  /** Only the field app needs it; the web dashboard talks to its own origin. */
  hqUrl?: string;
  username: string;
  password: string;
}

export interface Backend {
  readonly kind: BackendKind;
  session(): Promise<Session | null>;
  login(input: LoginInput): Promise<Session>;
  logout(): Promise<void>;
  rounds(): Promise<RoundInfo[]>;
  /** The form at `version` (an assessment's `form_version`); the current one without it. */
  form(formId: string, version?: number): Promise<FormDef>;
  assessments(round: string): Promise<AssessmentSummary[]>;
  assessment(key: AssessmentKey): Promise<AssessmentDetail>;
  setField(key: AssessmentKey, field: string, value: FieldValue): Promise<AssessmentDetail>;
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
  createRound(req: CreateRoundRequest): Promise<RoundInfo>;
  setRoundStatus(code: string, status: RoundStatus): Promise<RoundInfo>;
  /** Uploads a past round's CSV or XLSX; a refused file throws an ImportRejectedError. */
  importRound(code: string, file: Blob, filename: string): Promise<ImportSummary>;
  // Conflicts, totals and export (HQ web dashboard, supervisor/admin). The field app throws `unsupported`.
  /** The round's conflicts in the caller's scope, open ones first. */
  conflicts(round: string): Promise<Conflict[]>;
  /** Settles a conflict; answers with the assessment as it now stands. */
  resolveConflict(id: number, request: ResolveRequest): Promise<AssessmentDetail>;
  /** Count-field sums per region (1), mantika (2) or baladiya (3). */
  /** Approved figures unless `include` is `'all'` (drafts, submitted and returned too). */
  totals(round: string, level: TotalsLevel, include?: TotalsInclude): Promise<LocationTotals[]>;
  /** The round as an HXL-tagged CSV file. */
  exportCsv(round: string, include?: TotalsInclude): Promise<CsvExport>;
}

/** A downloaded export: the file and the name to save it under. */
export interface CsvExport {
  blob: Blob;
  filename: string;
}

/** Error codes dtm-hq answers with (docs/api.md); the Tauri side uses the same set. */
export const SERVER_ERROR_CODES = [
  'malformed_body',
  'body_too_large',
  'unknown_pcode',
  'negative_count',
  'bad_credentials',
  'unauthenticated',
  'forbidden',
  'out_of_scope',
  'not_found',
  'invalid_transition',
  'open_conflicts',
  'comment_required',
  'import_rejected',
  'reason_required',
  'already_resolved',
  'not_an_option',
  'not_a_whole_number',
  'not_a_number',
  'out_of_range',
  'not_text',
  'not_a_date',
  'unknown_field',
  'unknown_form',
  'malformed_query',
  'rate_limited',
  'account_locked',
  'text_too_long',
  'client_header_missing',
] as const;

/** Codes the UI itself produces, next to the server's codes in docs/api.md. */
export const CLIENT_ERROR_CODES = ['unsupported', 'network', 'http_error', 'ipc'] as const;

/** Every failure from a backend: a stable code to branch on, a message to fall back to. */
export class BackendError extends Error implements ApiError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
  }

  static unsupported(what: string): BackendError {
    return new BackendError('unsupported', `${what} is not available here`);
  }

  /** Normalises whatever a promise rejected with (ApiError object, string, Error). */
  static from(e: unknown, fallbackCode = 'ipc'): BackendError {
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
  readonly errors: ImportRowError[];

  constructor(message: string, errors: ImportRowError[]) {
    super('import_rejected', message);
    this.name = 'ImportRejectedError';
    this.errors = errors;
  }
}
