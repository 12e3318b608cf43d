// The shapes that cross the UI ↔ backend boundary, exactly as docs/api.md
// defines them. The Rust side (crates/dtm-sync/src/api.rs) is the source of
// truth; this file may be replaced by ts-rs output with the same names.
// All JSON is snake_case.

export type Role = 'enumerator' | 'supervisor' | 'admin';
export type AssessmentStatus = 'not_started' | 'draft' | 'submitted' | 'returned' | 'approved';
/** Counts are non-negative integers. */
export type FieldValue = number | string | null;

/** HTTP error body is `{ "error": ApiError }`. */
export interface ApiError {
  code: string;
  message: string;
}

/** `scope` holds P-code prefixes. */
export interface User {
  username: string;
  display_name: string;
  role: Role;
  scope: string[];
}
export interface Session {
  user: User;
  hq_url: string;
  device_id: string | null;
}
export interface LocationRef {
  pcode: string;
  level: number;
  name_en: string;
  name_ar: string;
}
export interface RoundInfo {
  code: string;
  number: number;
  title: string;
  status: 'planned' | 'open' | 'closed' | 'published';
  window_start: string;
  window_end: string;
  forms: { form: string; version: number }[];
}
export interface AssessmentKey {
  round: string;
  form: string;
  location: string;
}
export interface AssessmentSummary {
  key: AssessmentKey;
  location: LocationRef;
  mantika: LocationRef;
  status: AssessmentStatus;
  version: number;
  open_conflicts: number;
  pending_ops: number;
}
export interface Comment {
  author: string;
  role: Role;
  decision: 'approve' | 'return' | null;
  text: string;
  at: string;
}
export interface Issue {
  rule: string;
  severity: 'error' | 'warning';
  fields: string[];
  message: { en: string; ar: string };
}
export interface AssessmentDetail extends AssessmentSummary {
  values: Record<string, FieldValue>;
  comments: Comment[];
  issues: Issue[];
  pending_fields: string[];
  form_version: number;
}
export interface SyncState {
  online: boolean;
  syncing: boolean;
  pending: number;
  rejected: number;
  last_sync_at: string | null;
  last_error: ApiError | null;
  progress: { done: number; total: number } | null;
}
export interface RejectedOp {
  op_id: string;
  key: AssessmentKey;
  field: string | null;
  code: string;
  reason: string;
}

// FormDef is the JSON of schemas/forms/<form>.json (see schemas/form.schema.json).
export interface Text {
  en: string;
  ar: string;
}
export interface FormDef {
  id: string;
  version: number;
  level: number;
  title: Text;
  sections: Section[];
  rules: Rule[];
}
export interface Section {
  id: string;
  title: Text;
  fields: Field[];
}
export interface Field {
  id: string;
  type: 'count' | 'number' | 'select_one' | 'select_many' | 'text' | 'date';
  label: Text;
  hint?: Text;
  required?: boolean;
  min?: number;
  max?: number;
}
export interface Rule {
  id: string;
  severity: 'error' | 'warning';
  expr: string;
  fields: string[];
  message: Text;
}

// HTTP-only shapes (docs/api.md, HTTP table).
export interface LoginRequest {
  username: string;
  password: string;
  device_name?: string;
}
export interface LoginReply {
  token: string;
  user: User;
  expires_at: string;
}
export type ReviewDecision = 'approve' | 'return';
export interface ReviewRequest {
  decision: ReviewDecision;
  comment: string;
}
