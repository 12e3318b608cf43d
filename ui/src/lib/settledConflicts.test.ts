import { describe, expect, it } from 'vitest';
import type { AssessmentKey, RejectedOp, SettledConflict } from './api-types';
import { keptYours, openConflictFields, readKey, settledId, settledMessage, unread } from './settledConflicts';

const key: AssessmentKey = { round: 'R1', form: 'baladiya', location: 'LY021104' };
const op = (field: string | null, state: RejectedOp['state'] = 'conflict', location = 'LY021104'): RejectedOp => ({
  op_id: `op-${field}-${location}`,
  key: { ...key, location },
  field,
  state,
  code: state === 'applied' ? 'unknown' : state,
  reason: 'another device changed this field; a supervisor will settle it',
});
const settled = (field: string, at: string, yours: number, now: number): SettledConflict => ({
  key,
  kind: 'value',
  field,
  yours,
  settled: now,
  by: 'supervisor',
  by_name: 'Amina',
  reason: 'the key informant confirmed it',
  at,
});

describe('settled conflicts', () => {
  it("lists only this assessment's fields in conflict, not refusals or other locations", () => {
    const ops = [op('idp_hh'), op('ret_hh', 'rejected'), op('mig_ind', 'conflict', 'LY021105'), op(null)];
    expect(openConflictFields(ops, key)).toEqual(['idp_hh']);
  });

  it('shows each settlement until it is read, and only the newest of a field settled twice', () => {
    const first = settled('idp_hh', '2026-11-30T10:00:00Z', 95, 110);
    const second = settled('idp_hh', '2026-12-01T09:00:00Z', 110, 120);
    const other = settled('ret_hh', '2026-11-30T11:00:00Z', 3, 4);
    expect(unread([second, other, first], [])).toEqual([second, other]);
    expect(unread([second, other, first], [settledId(second)])).toEqual([other]);
    expect(readKey(key)).toBe('dtm.settled.R1/baladiya/LY021104');
  });

  it('knows when the supervisor kept the value this device sent', () => {
    expect(keptYours(settled('idp_hh', 'x', 95, 95))).toBe(true);
    expect(keptYours(settled('idp_hh', 'x', 95, 120))).toBe(false);
  });

  it('says whether a void stood or the assessment came back, from the status the device holds now', () => {
    const value = settled('idp_hh', 'x', 95, 120);
    const raced = { ...value, kind: 'void' as const };
    expect(settledMessage(value, 'voided')).toBe('form.settled');
    expect(settledMessage(raced, 'voided')).toBe('form.settled_void_kept');
    expect(settledMessage(raced, 'draft')).toBe('form.settled_void_restored');
  });
});
