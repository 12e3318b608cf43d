// The shapes that cross the UI ↔ backend boundary. They are generated from the Rust
// types (crates/dtm-core, crates/dtm-sync) by ts-rs into ./generated when
// `cargo test` runs; CI fails when the committed files drift. Never edit them here.
// All JSON is snake_case.

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
export type { CellError } from './generated/CellError';
export type { ChangeThreshold } from './generated/ChangeThreshold';
export type { Comment } from './generated/Comment';
export type { Conflict } from './generated/Conflict';
export type { ConflictKind } from './generated/ConflictKind';
export type { ConflictResolution } from './generated/ConflictResolution';
export type { ConflictSide } from './generated/ConflictSide';
export type { ConflictStatus } from './generated/ConflictStatus';
export type { DeviceInfo } from './generated/DeviceInfo';
export type { Difference } from './generated/Difference';
export type { Enrolment } from './generated/Enrolment';
export type { EnrolRequest } from './generated/EnrolRequest';
export type { ErrorCode } from './generated/ErrorCode';
export type { Field } from './generated/Field';
export type { FieldOption } from './generated/FieldOption';
export type { FieldType } from './generated/FieldType';
export type { FormDef } from './generated/FormDef';
export type { FormSummary } from './generated/FormSummary';
export type { ImportRejected } from './generated/ImportRejected';
export type { ImportReport } from './generated/ImportReport';
export type { Issue } from './generated/Issue';
export type { Language } from './generated/Language';
export type { Location } from './generated/Location';
export type { LocationInput } from './generated/LocationInput';
export type { LocationList } from './generated/LocationList';
export type { LocationPatch } from './generated/LocationPatch';
export type { LocationRef } from './generated/LocationRef';
export type { KeyFigures } from './generated/KeyFigures';
export type { LocationTotals } from './generated/LocationTotals';
export type { LoginRequest } from './generated/LoginRequest';
export type { Me } from './generated/Me';
export type { LoginResponse as LoginReply } from './generated/LoginResponse';
export type { NewAccount } from './generated/NewAccount';
export type { NewRound } from './generated/NewRound';
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
export type { RoundStatusChange } from './generated/RoundStatusChange';
export type { Rule } from './generated/Rule';
export type { Section } from './generated/Section';
export type { SentOp } from './generated/SentOp';
export type { Session } from './generated/Session';
export type { LockState } from './generated/LockState';
export type { SettledConflict } from './generated/SettledConflict';
export type { Severity } from './generated/Severity';
export type { SyncState } from './generated/SyncState';
export type { Text } from './generated/Text';
export type { Totals } from './generated/Totals';
export type { TotalsInclude } from './generated/TotalsInclude';
export type { User } from './generated/User';

/**
 * A field's value: counts are non-negative integers, select_many is a list of option
 * values, null is an empty field. Matches `AssessmentDetail['values']`.
 */
export type FieldValue = number | string | string[] | null;

/** Every error code, generated from the Rust enum (a value, for tests and lookups). */
export { ERROR_CODES } from './generated/errorCodes';
