import { describe, expect, it } from 'vitest';
import { cellColumn, defaultRoundForms, nextRoundNumber, nextRoundStatuses, roundFormProblems, sortImportErrors } from './rounds';
import type { CellError } from './api-types';
import { importContentType, XLSX_TYPE } from './backend/http';

describe('round status changes', () => {
  it('allows planned→open, open→closed, closed→open or published, and nothing after published', () => {
    expect(nextRoundStatuses('planned')).toEqual(['open']);
    expect(nextRoundStatuses('open')).toEqual(['closed']);
    expect(nextRoundStatuses('closed')).toEqual(['open', 'published']);
    expect(nextRoundStatuses('published')).toEqual([]);
  });
  it('suggests the number after the highest round', () => {
    const r = (n: number) => ({ code: `R${n}`, number: n, title: '', title_ar: '', status: 'open' as const, window_start: '', window_end: '', forms: [] });
    expect(nextRoundNumber([r(1), r(54), r(3)])).toBe(55);
    expect(nextRoundNumber([])).toBe(1);
  });
});

describe('new round form', () => {
  const ok = { code: 'R2', number: 2, title: 'Round 2', window_start: '2026-01-01', window_end: '2026-02-01', forms: [{ form: 'baladiya', version: 2 }] };
  it('accepts a complete round', () => {
    expect(roundFormProblems(ok)).toEqual([]);
  });
  it('names each problem', () => {
    expect(roundFormProblems({ ...ok, code: '2', number: 0, title: ' ', window_end: '2025-12-31', forms: [] })).toEqual([
      'code', 'number', 'title', 'window', 'forms',
    ]);
  });
});

describe('import', () => {
  it('sends .xlsx as a spreadsheet and anything else as CSV', () => {
    expect(importContentType('R53.XLSX')).toBe(XLSX_TYPE);
    expect(importContentType('r53.csv')).toBe('text/csv');
  });
  it('orders rejected cells by row, then column', () => {
    const e = (row: number, column: string) => ({ row, column, tag: '', code: 'unknown_pcode' as const, message: 'x' });
    expect(sortImportErrors([e(3, 'b'), e(2, 'z'), e(3, 'a')]).map((x) => `${x.row}${x.column}`)).toEqual(['2z', '3a', '3b']);
  });
});

describe('import problems in the reader\'s language', () => {
  it('keeps HQ\'s specific sentence in English and gives Arabic words for the code, never English, in Arabic', async () => {
    const { importProblem } = await import('./rounds');
    const cell = { row: 3, column: 'F', tag: '', code: 'rule_error' as const, message: 'Adult men + adult women + children must equal migrant individuals (…)', rule: 'migrant_breakdown' };
    expect(importProblem('en', cell)).toBe(cell.message);
    const ar = importProblem('ar', cell);
    expect(ar).toMatch(/[\u0600-\u06FF]/);
    expect(ar).not.toMatch(/Adult men/);
    const warning = { ...cell, code: 'rule_warning' as const, rule: 'aggregate:mig_ind' };
    expect(importProblem('ar', warning), 'a warning reads as a warning, not a refusal').not.toBe(ar);
  });
});

describe('import problems in a workbook of several sheets', () => {
  const cell = (sheet: string | undefined, row: number, column: string) =>
    ({ sheet, row, column, tag: '', code: 'not_an_option', message: '' }) as CellError;

  it('names the sheet with the column, as a spreadsheet does, and keeps a CSV column alone', () => {
    expect(cellColumn(cell('Baladiya Main ', 4, 'K'))).toBe('Baladiya Main!K');
    expect(cellColumn(cell(undefined, 4, 'K'))).toBe('K');
  });

  it('sorts by sheet, then row, then column', () => {
    const sorted = sortImportErrors([cell('Nationalities', 2, 'L'), cell('Muhalla Main', 9, 'B'), cell('Muhalla Main', 3, 'C')]);
    expect(sorted.map(cellColumn)).toEqual(['Muhalla Main!C', 'Muhalla Main!B', 'Nationalities!L']);
  });
});

describe('a new round', () => {
  it('starts on the newest version of each form, baladiya before muhalla, whatever order HQ lists them in', () => {
    const form = (id: string, version: number, level: number, latest: boolean) => ({
      id,
      version,
      level,
      latest,
      title: { en: id, ar: id },
    });
    const available = [form('muhalla', 1, 4, false), form('muhalla', 2, 4, true), form('baladiya', 3, 3, true), form('baladiya', 2, 3, false)];
    expect(defaultRoundForms(available)).toEqual([
      { form: 'baladiya', version: 3 },
      { form: 'muhalla', version: 2 },
    ]);
    expect(defaultRoundForms([]), 'nothing offered while the list has not arrived').toEqual([]);
  });
});
