import { describe, expect, it } from 'vitest';
import type { AssessmentStatus, AssessmentSummary } from './api-types';
import { isClean, nextSubmission, reviewOrder } from './review';

const row = (location: string, status: AssessmentStatus, extra: Partial<AssessmentSummary> = {}): AssessmentSummary => ({
  key: { round: 'R1', form: 'baladiya', location },
  location: { pcode: location, level: 3, name_en: location, name_ar: location },
  mantika: { pcode: location.slice(0, 6), level: 2, name_en: 'M', name_ar: 'م' },
  status,
  version: 1,
  open_conflicts: 0,
  pending_ops: 0,
  warnings: 0,
  errors: 0,
  ...extra,
});

describe('the review queue', () => {
  it('puts submissions first, then what is with the enumerator, then what is done', () => {
    const rows = [row('LY021101', 'approved'), row('LY021103', 'submitted'), row('LY021102', 'draft'), row('LY021100', 'submitted')];
    expect(reviewOrder(rows).map((r) => `${r.status}:${r.location.pcode}`)).toEqual([
      'submitted:LY021100',
      'submitted:LY021103',
      'draft:LY021102',
      'approved:LY021101',
    ]);
  });

  it('opens the next submission after a decision, wrapping round, and none when all are decided', () => {
    const shown = [row('A', 'submitted'), row('B', 'approved'), row('C', 'submitted'), row('D', 'draft')];
    expect(nextSubmission(shown, shown[0].key)?.location).toBe('C');
    expect(nextSubmission(shown, shown[2].key)?.location, 'after the last, the first still waiting').toBe('A');
    const done = [row('A', 'approved'), row('B', 'returned')];
    expect(nextSubmission(done, done[0].key)).toBeNull();
  });

  it('calls clean only a submission without warnings, errors or open conflicts', () => {
    expect(isClean(row('A', 'submitted'))).toBe(true);
    expect(isClean(row('A', 'submitted', { warnings: 1 })), 'a warning needs a person to read the justification').toBe(false);
    expect(isClean(row('A', 'submitted', { open_conflicts: 1 }))).toBe(false);
    expect(isClean(row('A', 'submitted', { errors: 1 }))).toBe(false);
    expect(isClean(row('A', 'draft')), 'only submitted work is approved').toBe(false);
    expect(isClean(row('A', 'submitted', { warnings: undefined, errors: undefined })), 'unchecked is not clean').toBe(false);
  });
});
