// Pure decisions behind the People, Devices and Audit pages: who may be given which
// role, what an account's status is called, how an audit filter becomes a query.
// HQ enforces all of it again; these only keep the screens from offering what HQ refuses.

import type { Account, LocationRef, Role } from './api-types';
import type { AuditFilter } from './backend/backend';

/** The roles a caller may give: a supervisor creates enumerators only; an admin any role. */
export function roleChoices(caller: Role): Role[] {
  if (caller === 'admin') return ['enumerator', 'supervisor', 'admin'];
  if (caller === 'supervisor') return ['enumerator'];
  return [];
}

export type AccountStatus = 'active' | 'disabled' | 'must_set_password';

/** Disabled wins over a pending password: a disabled account cannot set one anyway. */
export function accountStatus(a: Pick<Account, 'disabled_at' | 'must_change_password'>): AccountStatus {
  if (a.disabled_at) return 'disabled';
  if (a.must_change_password) return 'must_set_password';
  return 'active';
}

/** Actions HQ writes to the audit log, in the order the filter lists them. */
export const AUDIT_ACTIONS = [
  'login',
  'login_failed',
  'unlock_user',
  'create_enumerator',
  'create_supervisor',
  'create_admin',
  'change_user',
  'disable_user',
  'enable_user',
  'reset_password',
  'change_password',
  'issue_enrolment',
  'enrol_device',
  'revoke_device',
  'revoke_wipe_device',
  'hand_over_device',
  'store_key_made',
  'review_approve',
  'review_return',
  'settle_conflict',
  'create_round',
  'round_open',
  'round_closed',
  'round_published',
  'import_round',
  'export_hxl_csv',
  'export_xlsx',
  'export_json',
  'publish_dtm_workbook',
  'export_audit_csv',
  'read_totals',
  'read_key_figures',
  'list_assessments',
  'read_assessment',
  'location_add',
  'location_change',
  'location_retire',
  'location_restore',
] as const;

/** `?actor=…&action=…` for GET /audit and /audit.csv: empty and blank parts are left out. */
export function auditQuery(filter: AuditFilter): string {
  const params = new URLSearchParams();
  const text = (name: string, v: string | undefined) => {
    const s = v?.trim();
    if (s) params.set(name, s);
  };
  text('actor', filter.actor);
  text('action', filter.action);
  text('from', filter.from);
  text('to', filter.to);
  if (filter.before !== undefined) params.set('before', String(filter.before));
  if (filter.limit !== undefined) params.set('limit', String(filter.limit));
  const q = params.toString();
  return q ? `?${q}` : '';
}

/** The new password problem the client can see by itself; strength is HQ's to judge. */
export function newPasswordProblem(next: string, repeat: string): 'password_mismatch' | null {
  return next !== repeat ? 'password_mismatch' : null;
}

/** Adds a place to a scope once; a place already covered by a chosen wider one is still
 * added (HQ accepts overlapping P-codes), but the same P-code never twice. */
export function addToScope(scope: LocationRef[], place: LocationRef): LocationRef[] {
  return scope.some((p) => p.pcode === place.pcode) ? scope : [...scope, place];
}

/** An SVG string as an image source: inserted as <img>, never as markup, so nothing in it runs. */
export function svgDataUrl(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

