// Pure logic of the entry grid: the muhallas of a baladiya as rows, the form's key
// counts (`FormDef.grid`, data in the form) as columns. Reading what was typed or
// pasted into a cell, what a cell shows, a block pasted from a spreadsheet, and where
// the keys move. Saving is the backend's (each row autosaves as the form does).

import type { Field, FieldValue, FormDef } from './api-types';
import { parseInput, type Parsed, valueToInput } from './form';
import type { Locale } from './i18n';
import { foldName } from './search';

/** The grid's columns: the form's `grid` fields, in order. */
export function gridColumns(form: FormDef): Field[] {
  const byId = new Map(form.sections.filter((s) => !s.repeat).flatMap((s) => s.fields.map((f) => [f.id, f] as const)));
  return (form.grid ?? []).map((id) => byId.get(id)).filter((f): f is Field => f !== undefined);
}

/**
 * A cell's text read as the field's value. A choice may be typed as its value, its
 * English or Arabic label, or the start of one that fits no other choice ("y", "ن",
 * "unk"), as a spreadsheet's "Yes"/"No" column pastes; counts as the form reads them
 * (Arabic digits, "2,300"). Empty clears the answer.
 */
export function readCell(field: Field, raw: string): Parsed {
  if (field.type !== 'select_one') return parseInput(field, raw);
  const typed = foldName(raw.trim());
  if (typed === '') return { ok: true, value: null };
  const names = field.options.map((o) => ({ value: o.value, names: [o.value, o.label.en, o.label.ar].map(foldName) }));
  const exact = names.find((o) => o.names.includes(typed));
  if (exact) return { ok: true, value: exact.value };
  const starts = names.filter((o) => o.names.some((n) => n.startsWith(typed)));
  if (starts.length === 1) return { ok: true, value: starts[0].value };
  return { ok: false, error: 'grid.not_a_choice', params: { choices: field.options.map((o) => o.value).join(' / ') } };
}

/** What a cell shows for editing: digits without grouping, a choice by its label. */
export function cellText(field: Field, value: FieldValue | undefined, locale: Locale): string {
  if (field.type === 'select_one' && typeof value === 'string') {
    return field.options.find((o) => o.value === value)?.label[locale] ?? value;
  }
  return valueToInput(value);
}

/**
 * A block copied from a spreadsheet: rows of tab-separated cells. One trailing line
 * break (spreadsheets add it) is not a row. A single value is a block of one cell.
 */
export function parseBlock(text: string): string[][] {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n');
  return lines.map((line) => line.split('\t'));
}

/** Whether pasted text is a block (several cells) rather than one value for one cell. */
export function isBlock(text: string): boolean {
  return /[\t\n]/.test(text.replace(/\r?\n$/, ''));
}

export type Move = 'up' | 'down' | 'back' | 'forward';

/**
 * The cell a key moves to from (`row`, `col`), or null at the grid's edge. `back` and
 * `forward` are in reading order: the page's direction (Arabic reads right to left)
 * is the caller's to map from the arrow keys.
 */
export function moveCell(
  row: number,
  col: number,
  move: Move,
  rows: number,
  cols: number,
): { row: number; col: number } | null {
  const next = {
    up: { row: row - 1, col },
    down: { row: row + 1, col },
    back: { row, col: col - 1 },
    forward: { row, col: col + 1 },
  }[move];
  return next.row >= 0 && next.row < rows && next.col >= 0 && next.col < cols ? next : null;
}
