import { describe, expect, it } from 'vitest';
import { locationsQuery, nextChildPcode, pcodeLevel } from './places';

describe('the gazetteer page', () => {
  it('asks only for the filters given, trimmed', () => {
    expect(locationsQuery({})).toBe('');
    expect(locationsQuery({ q: '  ', within: ' ', level: 0 })).toBe('');
    expect(locationsQuery({ q: ' سوق ', within: 'LY021104', level: 4, retired: true })).toBe(
      '?level=4&within=LY021104&q=%D8%B3%D9%88%D9%82&retired=true',
    );
  });

  it('proposes the next free code under a parent, counting retired codes so none is given twice', () => {
    const known = [{ pcode: 'LY02110401' }, { pcode: 'LY02110407' }, { pcode: 'LY021104' }, { pcode: 'LY02110501' }];
    expect(nextChildPcode('LY021104', known)).toBe('LY02110408');
    expect(nextChildPcode(' LY021199 ', [])).toBe('LY02119901');
    expect(nextChildPcode('LY021104', [{ pcode: 'LY02110499' }])).toBeNull();
    expect(nextChildPcode('Tripoli', known)).toBeNull();
    expect(nextChildPcode('LY02110401', known), 'a muhalla has no level below it').toBeNull();
  });

  it('reads the admin level from a P-code', () => {
    expect([pcodeLevel('LY02'), pcodeLevel('LY0211'), pcodeLevel('LY021104'), pcodeLevel('LY02110401')]).toEqual([1, 2, 3, 4]);
  });
});
