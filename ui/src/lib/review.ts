// Pure logic of the review queue: what a supervisor sees first, what opens after a
// decision, and which submissions are clean enough to approve together.

import type { AssessmentKey, AssessmentStatus, AssessmentSummary } from './api-types';

/** Waiting for a decision first, then what is with the enumerator, then what is done. */
export const REVIEW_ORDER: readonly AssessmentStatus[] = ['submitted', 'returned', 'draft', 'approved', 'not_started', 'voided'];

/** Rows in review order, P-code order within a status. */
export function reviewOrder(rows: AssessmentSummary[]): AssessmentSummary[] {
  const rank = (s: AssessmentStatus) => REVIEW_ORDER.indexOf(s);
  return [...rows].sort(
    (a, b) =>
      rank(a.status) - rank(b.status) || (a.location.pcode < b.location.pcode ? -1 : a.location.pcode > b.location.pcode ? 1 : 0),
  );
}

function sameKey(a: AssessmentKey, b: AssessmentKey): boolean {
  return a.round === b.round && a.form === b.form && a.location === b.location;
}

/**
 * The submission to open after deciding on `current`: the next submitted row in the
 * order shown, wrapping round to the first; null when none is left.
 */
export function nextSubmission(shown: AssessmentSummary[], current: AssessmentKey): AssessmentKey | null {
  const at = shown.findIndex((r) => sameKey(r.key, current));
  const after = [...shown.slice(at + 1), ...shown.slice(0, Math.max(at, 0))];
  return after.find((r) => r.status === 'submitted' && !sameKey(r.key, current))?.key ?? null;
}

/**
 * Submitted, checked, with no rule warning or error and no open conflict: safe to approve
 * in a batch. A row whose checks did not run (no counts) is never called clean.
 */
export function isClean(r: AssessmentSummary): boolean {
  return r.status === 'submitted' && r.open_conflicts === 0 && r.warnings === 0 && r.errors === 0;
}
