import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FormDef } from './api-types';
import { cellText, gridColumns, isBlock, moveCell, parseBlock, readCell } from './grid';

const form = (name: string): FormDef =>
  JSON.parse(readFileSync(new URL(`../../../schemas/forms/${name}.json`, import.meta.url), 'utf8'));
const muhalla = form('muhalla-v2');
const column = (id: string) => gridColumns(muhalla).find((f) => f.id === id)!;

describe('gridColumns', () => {
  it("are the form's own grid fields, in the form's order", () => {
    expect(gridColumns(muhalla).map((f) => f.id)).toEqual(muhalla.grid);
    expect(gridColumns(muhalla)[0].type).toBe('select_one');
  });
  it('are none for a form without a grid', () => {
    expect(gridColumns({ ...muhalla, grid: undefined })).toEqual([]);
  });
});

describe('readCell', () => {
  const present = column('idp_present');
  it('reads a choice as typed, pasted or begun, in English or Arabic', () => {
    for (const [typed, value] of [
      ['yes', 'yes'],
      ['Yes', 'yes'],
      [' NO ', 'no'],
      ['y', 'yes'],
      ['unk', 'unknown'],
      ['نعم', 'yes'],
      ['لا', 'no'],
      ['ن', 'yes'],
      ['غير معروف', 'unknown'],
    ]) {
      expect(readCell(present, typed), `"${typed}" is ${value}`).toEqual({ ok: true, value });
    }
  });
  it('refuses a choice it cannot place, naming the choices, and clears on empty', () => {
    expect(readCell(present, 'maybe')).toEqual({ ok: false, error: 'grid.not_a_choice', params: { choices: 'yes / no / unknown' } });
    expect(readCell(present, '')).toEqual({ ok: true, value: null });
  });
  it('reads counts as the form does: Arabic digits and thousands groups, never a decimal', () => {
    const ind = column('idp_ind');
    expect(readCell(ind, '٢٬٣٠٠')).toEqual({ ok: true, value: 2300 });
    expect(readCell(ind, '2,300')).toEqual({ ok: true, value: 2300 });
    expect(readCell(ind, '2.300')).toEqual({ ok: false, error: 'form.not_a_count' });
    expect(readCell(ind, '-4')).toEqual({ ok: false, error: 'form.not_a_count' });
  });
});

describe('cellText', () => {
  it('shows a choice by its label in the language of the page, a count as plain digits', () => {
    expect(cellText(column('idp_present'), 'no', 'ar')).toBe('لا');
    expect(cellText(column('idp_present'), 'no', 'en')).toBe('No');
    expect(cellText(column('idp_ind'), 12400, 'ar')).toBe('12400');
    expect(cellText(column('idp_ind'), null, 'en')).toBe('');
  });
});

describe('parseBlock', () => {
  it("reads a spreadsheet's rows and tab-separated cells, without its trailing line break", () => {
    expect(parseBlock('Yes\t12\t60\r\nNo\t\t\r\n')).toEqual([
      ['Yes', '12', '60'],
      ['No', '', ''],
    ]);
    expect(isBlock('12\t60')).toBe(true);
    expect(isBlock('12\n')).toBe(false);
    expect(isBlock('1,200')).toBe(false);
  });
});

describe('moveCell', () => {
  it('moves within the grid and stops at its edges', () => {
    expect(moveCell(0, 0, 'down', 3, 4)).toEqual({ row: 1, col: 0 });
    expect(moveCell(0, 3, 'forward', 3, 4)).toBeNull();
    expect(moveCell(0, 0, 'up', 3, 4)).toBeNull();
    expect(moveCell(2, 1, 'back', 3, 4)).toEqual({ row: 2, col: 0 });
  });
});
