// The shapes that cross the UI ↔ backend boundary. They are generated from the Rust
// types (crates/dtm-core, crates/dtm-sync) by ts-rs into ./generated when
// `cargo test` runs; CI fails when the committed files drift. Never edit them here.
// All JSON is snake_case.

import type { LocationRef } from './generated/LocationRef';

export type { Account } from './generated/Account';
export type { AccountChange } from './generated/AccountChange';
export type { Aggregates } from './generated/Aggregates';
export type { ApiError } from './generated/ApiError';
export type { AssessmentDetail } from './generated/AssessmentDetail';
export type { AssessmentKey } from './generated/AssessmentKey';
export type { AssessmentStatus } from './generated/AssessmentStatus';
export type { AssessmentSummary } from './generated/AssessmentSummary';
export type { AuditEntry } from './generated/AuditEntry';
export type { AuditPage } from './generated/AuditPage';
export type { ChangeThreshold } from './generated/ChangeThreshold';
export type { Comment } from './generated/Comment';
export type { Conflict } from './generated/Conflict';
export type { ConflictKind } from './generated/ConflictKind';
export type { ConflictResolution } from './generated/ConflictResolution';
export type { ConflictSide } from './generated/ConflictSide';
export type { ConflictStatus } from './generated/ConflictStatus';
export type { DeviceInfo } from './generated/DeviceInfo';
export type { EnrolRequest } from './generated/EnrolRequest';
export type { Enrolment } from './generated/Enrolment';
export type { Field } from './generated/Field';
export type { FieldOption } from './generated/FieldOption';
export type { FieldType } from './generated/FieldType';
export type { FormDef } from './generated/FormDef';
export type { Issue } from './generated/Issue';
export type { Language } from './generated/Language';
export type { LocationRef } from './generated/LocationRef';
export type { LoginRequest } from './generated/LoginRequest';
export type { LoginResponse as LoginReply } from './generated/LoginResponse';
export type { NewAccount } from './generated/NewAccount';
export type { OneTimePassword } from './generated/OneTimePassword';
export type { OpOutcome } from './generated/OpOutcome';
export type { PasswordChange } from './generated/PasswordChange';
export type { Progress } from './generated/Progress';
export type { RejectedOp } from './generated/RejectedOp';
export type { ResolveRequest } from './generated/ResolveRequest';
export type { ReviewDecision } from './generated/ReviewDecision';
export type { ReviewRequest } from './generated/ReviewRequest';
export type { Role } from './generated/Role';
export type { RoundForm } from './generated/RoundForm';
export type { RoundInfo } from './generated/RoundInfo';
export type { RoundStatus } from './generated/RoundStatus';
export type { Rule } from './generated/Rule';
export type { Section } from './generated/Section';
export type { SentOp } from './generated/SentOp';
export type { Session } from './generated/Session';
export type { Severity } from './generated/Severity';
export type { SyncState } from './generated/SyncState';
export type { Text } from './generated/Text';
export type { User } from './generated/User';

/**
 * A field's value: counts are non-negative integers, select_many is a list of option
 * values, null is an empty field. Matches `AssessmentDetail['values']`.
 */
export type FieldValue = number | string | string[] | null;

// ---------------------------------------------------------------------------
// NOT YET GENERATED: hand-written until the Rust side exports them with ts-rs.
// Round administration and past-round import (HTTP only, role admin). Replace
// with re-exports from ./generated once those types exist in Rust.
// ---------------------------------------------------------------------------

/** `POST /api/v1/rounds` body → `RoundInfo`. */
export interface CreateRoundRequest {
  code: string;
  number: number;
  title: string;
  /** ISO date, YYYY-MM-DD. */
  window_start: string;
  window_end: string;
  forms: { form: string; version: number }[];
}

/** `POST /api/v1/rounds/{code}/status` body → `RoundInfo`. */
export interface SetRoundStatusRequest {
  status: 'planned' | 'open' | 'closed' | 'published';
}

/** `POST /api/v1/rounds/{code}/import` (raw CSV or XLSX body) → 200. */
export interface ImportSummary {
  rows: number;
  assessments: number;
  totals: Record<string, number>;
}

/** One cell the import refused. */
export interface ImportRowError {
  row: number;
  column: string;
  code: string;
  message: string;
}

/** `POST /api/v1/rounds/{code}/import` → 422 body. */
export interface ImportRejected {
  error: { code: 'import_rejected'; message: string; [extra: string]: unknown };
  errors: ImportRowError[];
}
/** `GET /api/v1/rounds/{code}/totals?level=` → one entry per region, mantika or baladiya. */
export interface LocationTotals {
  location: LocationRef;
  /** Sums of the count fields, by field id; a field nobody answered may be absent.
   * Each baladiya counts once, from its muhallas where it has them. */
  values: Record<string, number>;
  /** Baladiyas inside this location whose own figure differs from their muhallas' sum. */
  differences: TotalsDifference[];
  baladiya_assessments: number;
  muhalla_assessments: number;
  /** Assessments counted that are not approved yet (asked for with `include: 'all'`). */
  unapproved: number;
}

/** Which assessments totals count: approved ones (the default), or all but voided ones. */
export type TotalsInclude = 'approved' | 'all';

export interface TotalsDifference {
  baladiya: string;
  field: string;
  baladiya_value: number;
  /** The sum over its muhallas, which the total counts. */
  muhallas_value: number;
  muhallas: number;
}

/** 1 region, 2 mantika, 3 baladiya. */
export type TotalsLevel = 1 | 2 | 3;
// --------------------------- end of not yet generated ----------------------
