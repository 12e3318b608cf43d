// Telling the enumerator that HQ settled a conflict on one of their assessments.
//
// What the device knows (dtm-store): while a conflict is open, the operation that
// caused it is kept with state `conflict` and its field (RejectedOp); the form shows the
// value HQ holds. When a supervisor settles it, the next pull brings the settled value
// and the device drops the operation. Who settled it and why stay at HQ: the pull
// carries neither, and the device's own value of the conflicting edit is not given to
// the UI either. So the device remembers, per assessment, the fields it saw in conflict
// and the value shown then; when such a field is no longer in conflict it can say
// "settled: the value is now X (it was Y while open)" and, honestly, no more.

import type { AssessmentKey, FieldValue, RejectedOp } from './api-types';
import { sameValue } from './form';

/** Field id → the value shown while the conflict was open. */
export type ConflictMemo = Record<string, FieldValue>;

export interface Settled {
  field: string;
  /** The value HQ held, and this device showed, while the conflict was open. */
  before: FieldValue;
  /** The value now: the one the supervisor settled on. */
  now: FieldValue;
}

export function memoKey(key: AssessmentKey): string {
  return `dtm.conflicts.${key.round}/${key.form}/${key.location}`;
}

/** The fields of this assessment with an open conflict from this device. */
export function openConflictFields(ops: RejectedOp[], key: AssessmentKey): string[] {
  return ops
    .filter(
      (op) =>
        op.state === 'conflict' &&
        op.field !== null &&
        op.key.round === key.round &&
        op.key.form === key.form &&
        op.key.location === key.location,
    )
    .map((op) => op.field!);
}

/**
 * The memo after looking at the device now: open conflicts are remembered with the value
 * shown; settled ones come out in `settled` and stay in the memo until dismissed.
 */
export function reconcile(
  memo: ConflictMemo,
  open: string[],
  values: Record<string, FieldValue>,
): { memo: ConflictMemo; settled: Settled[] } {
  const next: ConflictMemo = { ...memo };
  const openSet = new Set(open);
  for (const f of open) if (!Object.hasOwn(next, f)) next[f] = values[f] ?? null;
  const settled = Object.keys(next)
    .filter((f) => !openSet.has(f))
    .sort()
    .map((f) => ({ field: f, before: next[f], now: values[f] ?? null }));
  return { memo: next, settled };
}

/** The memo once the enumerator has read the settlement of `field`. */
export function dismiss(memo: ConflictMemo, field: string): ConflictMemo {
  const { [field]: _gone, ...rest } = memo;
  return rest;
}

/** Whether the settled value differs from what the device showed while it was open. */
export function changedBySettlement(s: Settled): boolean {
  return !sameValue(s.before, s.now);
}
