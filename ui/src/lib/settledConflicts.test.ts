import { describe, expect, it } from 'vitest';
import type { AssessmentKey, RejectedOp } from './api-types';
import { changedBySettlement, dismiss, memoKey, openConflictFields, reconcile } from './settledConflicts';

const key: AssessmentKey = { round: 'R1', form: 'baladiya', location: 'LY021104' };
const op = (field: string | null, state: RejectedOp['state'] = 'conflict', location = 'LY021104'): RejectedOp => ({
  op_id: `op-${field}-${location}`,
  key: { ...key, location },
  field,
  state,
  code: state === 'applied' ? 'unknown' : state,
  reason: 'another device changed this field; a supervisor will settle it',
});

describe('settled conflicts', () => {
  it('lists only this assessment\'s fields in conflict, not refusals or other locations', () => {
    const ops = [op('idp_hh'), op('idp_ind', 'rejected'), op('ret_hh', 'conflict', 'LY021105'), op(null)];
    expect(openConflictFields(ops, key)).toEqual(['idp_hh']);
  });

  it('remembers the value shown while a conflict is open, and reports nothing settled yet', () => {
    const { memo, settled } = reconcile({}, ['idp_hh'], { idp_hh: 95 });
    expect(memo).toEqual({ idp_hh: 95 });
    expect(settled).toEqual([]);
  });

  it('says which field was settled, the value before and the settled value, once the conflict is gone', () => {
    const open = reconcile({}, ['idp_hh'], { idp_hh: 95 }).memo;
    const later = reconcile(open, [], { idp_hh: 120 });
    expect(later.settled).toEqual([{ field: 'idp_hh', before: 95, now: 120 }]);
    expect(changedBySettlement(later.settled[0])).toBe(true);
  });

  it('keeps the first value seen, even if a later pull changes what is shown while still open', () => {
    const first = reconcile({}, ['idp_hh'], { idp_hh: 95 }).memo;
    expect(reconcile(first, ['idp_hh'], { idp_hh: 96 }).memo).toEqual({ idp_hh: 95 });
  });

  it('forgets a settlement once the enumerator has read it', () => {
    const memo = { idp_hh: 95, ret_hh: 3 };
    expect(dismiss(memo, 'idp_hh')).toEqual({ ret_hh: 3 });
    expect(memoKey(key)).toBe('dtm.conflicts.R1/baladiya/LY021104');
  });

  it('notices when the supervisor kept the value HQ held', () => {
    const { settled } = reconcile({ idp_hh: 95 }, [], { idp_hh: 95 });
    expect(changedBySettlement(settled[0])).toBe(false);
  });
});
