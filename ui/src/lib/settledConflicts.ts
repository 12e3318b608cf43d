// Telling the enumerator that HQ settled a conflict on one of their assessments. The
// pull brings each settlement of this device's conflicts, and the device store keeps
// them (`AssessmentDetail.settled`): the field, the value this device sent, the settled
// value, who settled it and why. The form shows each until the enumerator has read it;
// what was read is remembered per assessment on this device.

import type { AssessmentKey, AssessmentStatus, RejectedOp, SettledConflict } from './api-types';
import { sameValue } from './form';

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

/** One settlement, as remembered once read. */
export function settledId(s: SettledConflict): string {
  return `${s.field}@${s.at}`;
}

/** Where the settlements read on this assessment are remembered. */
export function readKey(key: AssessmentKey): string {
  return `dtm.settled.${key.round}/${key.form}/${key.location}`;
}

/**
 * The settlements to show: not read yet, the newest of each field only (a field settled
 * twice says what holds now), newest first as the device keeps them.
 */
export function unread(settled: SettledConflict[], read: string[]): SettledConflict[] {
  const fields = new Set<string>();
  return settled.filter((s) => {
    if (fields.has(s.field)) return false;
    fields.add(s.field);
    return !read.includes(settledId(s));
  });
}

/** Whether the supervisor settled on the value this device had sent. */
export function keptYours(s: SettledConflict): boolean {
  return sameValue(s.yours, s.settled);
}

/**
 * The banner's first line. A value conflict: the field's value now. An edit that
 * arrived after the assessment was voided: whether the void stands (the assessment is
 * still voided) or the assessment came back as a draft with the settled value.
 */
export function settledMessage(
  s: SettledConflict,
  status: AssessmentStatus,
): 'form.settled' | 'form.settled_void_kept' | 'form.settled_void_restored' {
  if (s.kind !== 'void') return 'form.settled';
  return status === 'voided' ? 'form.settled_void_kept' : 'form.settled_void_restored';
}
