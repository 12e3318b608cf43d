// The shapes that cross the UI ↔ backend boundary. They are generated from the Rust
// types (crates/dtm-core, crates/dtm-sync) by ts-rs into ./generated when
// `cargo test` runs; CI fails when the committed files drift. Never edit them here.
// All JSON is snake_case.

export type { ApiError } from './generated/ApiError';
export type { AssessmentDetail } from './generated/AssessmentDetail';
export type { AssessmentKey } from './generated/AssessmentKey';
export type { AssessmentStatus } from './generated/AssessmentStatus';
export type { AssessmentSummary } from './generated/AssessmentSummary';
export type { Comment } from './generated/Comment';
export type { Field } from './generated/Field';
export type { FieldType } from './generated/FieldType';
export type { FormDef } from './generated/FormDef';
export type { Issue } from './generated/Issue';
export type { LocationRef } from './generated/LocationRef';
export type { LoginRequest } from './generated/LoginRequest';
export type { LoginResponse as LoginReply } from './generated/LoginResponse';
export type { Progress } from './generated/Progress';
export type { RejectedOp } from './generated/RejectedOp';
export type { ReviewDecision } from './generated/ReviewDecision';
export type { ReviewRequest } from './generated/ReviewRequest';
export type { Role } from './generated/Role';
export type { RoundForm } from './generated/RoundForm';
export type { RoundInfo } from './generated/RoundInfo';
export type { RoundStatus } from './generated/RoundStatus';
export type { Rule } from './generated/Rule';
export type { Section } from './generated/Section';
export type { Session } from './generated/Session';
export type { Severity } from './generated/Severity';
export type { SyncState } from './generated/SyncState';
export type { Text } from './generated/Text';
export type { User } from './generated/User';

/** A field's value: counts are non-negative integers, null is an empty field. */
export type FieldValue = number | string | null;
