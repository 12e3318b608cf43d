// Field app backend: Tauri IPC. The only module that calls `invoke`.
// Command arguments are camelCase on the JS side (docs/api.md).

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type {
  LockState,
  Account,
  AccountChange,
  AuditPage,
  DeviceInfo,
  Enrolment,
  Location,
  LocationInput,
  LocationList,
  LocationPatch,
  LocationRef,
  NewAccount,
  OneTimePassword,
  AssessmentDetail,
  AssessmentKey,
  AssessmentSummary,
  Conflict,
  NewRound,
  FieldValue,
  ImportReport,
  FormDef,
  FormSummary,
  KeyFigures,
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
} from '../api-types';
import { BackendError, type AuditFilter, type Backend, type LocationQuery, type DownloadedFile, type ExportFormat, type LoginInput, type SignedIn, type TotalsLevel } from './backend';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw BackendError.from(e, 'ipc');
  }
}

function keyArgs(key: AssessmentKey) {
  return { round: key.round, form: key.form, location: key.location };
}

export class TauriBackend implements Backend {
  readonly kind = 'tauri' as const;

  session() {
    return call<Session | null>('session');
  }
  lockState() {
    return call<LockState>('lock_state');
  }
  login({ hqUrl, username, password }: LoginInput) {
    return call<Session>('login', { hqUrl, username, password });
  }
  async logout() {
    await call<null>('logout');
  }
  /** The device joins HQ with a one-time code and sets the account's password. */
  enrol(hqUrl: string, code: string, password: string) {
    return call<SignedIn>('enrol', { hqUrl, code, password });
  }
  async changePassword(current: string, next: string) {
    await call<null>('change_password', { current, next });
  }
  rounds() {
    return call<RoundInfo[]>('list_rounds');
  }
  async forms(): Promise<FormSummary[]> {
    throw BackendError.unsupported('choosing the forms of a new round');
  }

  form(formId: string, version?: number) {
    return call<FormDef>('get_form', version === undefined ? { form: formId } : { form: formId, version });
  }
  assessments(round: string) {
    return call<AssessmentSummary[]>('list_assessments', { round });
  }
  assessment(key: AssessmentKey) {
    return call<AssessmentDetail>('get_assessment', keyArgs(key));
  }
  setField(key: AssessmentKey, field: string, value: FieldValue) {
    return call<AssessmentDetail>('set_field', { ...keyArgs(key), field, value });
  }
  setFields(key: AssessmentKey, values: [string, FieldValue][]) {
    return call<AssessmentDetail>('set_fields', { ...keyArgs(key), values });
  }
  submit(key: AssessmentKey) {
    return call<AssessmentDetail>('submit_assessment', keyArgs(key));
  }
  defaultHqUrl() {
    return call<string | null>('default_hq_url');
  }
  voidAssessment(key: AssessmentKey, reason: string) {
    return call<AssessmentDetail>('void_assessment', { ...keyArgs(key), reason });
  }
  async review(_key: AssessmentKey, _decision: ReviewDecision, _comment: string): Promise<AssessmentDetail> {
    throw BackendError.unsupported('review');
  }
  syncNow() {
    return call<SyncState>('sync_now');
  }
  syncState() {
    return call<SyncState>('sync_state');
  }
  onSyncState(cb: (state: SyncState) => void): () => void {
    let stopped = false;
    let unlisten: (() => void) | undefined;
    listen<SyncState>('sync-state', (event) => cb(event.payload)).then((fn) => {
      if (stopped) fn();
      else unlisten = fn;
    });
    return () => {
      stopped = true;
      unlisten?.();
    };
  }
  rejectedOps() {
    return call<RejectedOp[]>('rejected_ops');
  }
  sentLog(limit?: number) {
    return call<SentOp[]>('sent_log', { limit: limit ?? null });
  }
  async createRound(_req: NewRound): Promise<RoundInfo> {
    throw BackendError.unsupported('createRound');
  }
  async setRoundStatus(_code: string, _status: RoundStatus): Promise<RoundInfo> {
    throw BackendError.unsupported('setRoundStatus');
  }
  async importRound(_code: string, _file: Blob, _filename: string, _addLocations?: boolean): Promise<ImportReport> {
    throw BackendError.unsupported('importRound');
  }
  async conflicts(_round: string): Promise<Conflict[]> {
    throw BackendError.unsupported('conflicts');
  }
  async resolveConflict(_id: number, _request: ResolveRequest): Promise<AssessmentDetail> {
    throw BackendError.unsupported('resolveConflict');
  }
  async totals(_round: string, _level: TotalsLevel, _include?: TotalsInclude): Promise<LocationTotals[]> {
    throw BackendError.unsupported('totals');
  }
  async keyFigures(_round: string, _include?: TotalsInclude): Promise<KeyFigures> {
    throw BackendError.unsupported('keyFigures');
  }
  async exportRound(_round: string, _format: ExportFormat, _include?: TotalsInclude): Promise<DownloadedFile> {
    throw BackendError.unsupported('exportRound');
  }
  async accounts(): Promise<Account[]> {
    throw BackendError.unsupported('accounts');
  }
  async createAccount(_account: NewAccount): Promise<Account> {
    throw BackendError.unsupported('createAccount');
  }
  async changeAccount(_username: string, _change: AccountChange): Promise<Account> {
    throw BackendError.unsupported('changeAccount');
  }
  async setDisabled(_username: string, _disabled: boolean): Promise<Account> {
    throw BackendError.unsupported('setDisabled');
  }
  async resetPassword(_username: string): Promise<OneTimePassword> {
    throw BackendError.unsupported('resetPassword');
  }
  async issueEnrolment(_username: string, _hours?: number): Promise<Enrolment> {
    throw BackendError.unsupported('issueEnrolment');
  }
  async devices(): Promise<DeviceInfo[]> {
    throw BackendError.unsupported('devices');
  }
  async revokeDevice(_deviceId: string, _wipe?: boolean): Promise<void> {
    throw BackendError.unsupported('revokeDevice');
  }
  async handOverDevice(_deviceId: string, _username: string): Promise<void> {
    throw BackendError.unsupported('handOverDevice');
  }
  async audit(_filter: AuditFilter): Promise<AuditPage> {
    throw BackendError.unsupported('audit');
  }
  async auditCsv(_filter: AuditFilter): Promise<DownloadedFile> {
    throw BackendError.unsupported('auditCsv');
  }
  async locations(_query: LocationQuery): Promise<LocationList> {
    throw BackendError.unsupported('locations');
  }
  async addLocation(_input: LocationInput): Promise<Location> {
    throw BackendError.unsupported('addLocation');
  }
  async changeLocation(_pcode: string, _patch: LocationPatch): Promise<Location> {
    throw BackendError.unsupported('changeLocation');
  }
  async searchLocations(_q: string, _level?: number): Promise<LocationRef[]> {
    throw BackendError.unsupported('searchLocations');
  }
}
