// Pure logic of the data-entry form: parsing what was typed, and whether the
// assessment may be submitted. Rule checks themselves come from the backend.

import type { AssessmentDetail, Field, FieldValue, FormDef, Issue } from './api-types';
import type { MessageKey, Params } from './i18n';

export type Parsed = { ok: true; value: FieldValue } | { ok: false; error: MessageKey; params?: Params };

const ARABIC_INDIC = /[\u0660-\u0669\u06F0-\u06F9]/g;

/** Tablets with an Arabic keyboard type ٠–٩; inputs keep ASCII digits. */
export function toAsciiDigits(s: string): string {
  return s.replace(ARABIC_INDIC, (d) => {
    const c = d.charCodeAt(0);
    return String(c >= 0x06f0 ? c - 0x06f0 : c - 0x0660);
  });
}

function checkRange(field: Field, n: number): Parsed {
  if (field.min !== undefined && n < field.min) return { ok: false, error: 'form.below_min', params: { min: field.min } };
  if (field.max !== undefined && n > field.max) return { ok: false, error: 'form.above_max', params: { max: field.max } };
  return { ok: true, value: n };
}

/** Input text → value to store. Empty means null (not answered). */
export function parseInput(field: Field, raw: string): Parsed {
  const text = toAsciiDigits(raw).trim();
  if (text === '') return { ok: true, value: null };
  switch (field.type) {
    case 'count':
      if (!/^[0-9]+$/.test(text)) return { ok: false, error: 'form.not_a_count' };
      return checkRange(field, Number(text));
    case 'number': {
      if (!/^-?[0-9]+(\.[0-9]+)?$/.test(text)) return { ok: false, error: 'form.not_a_number' };
      return checkRange(field, Number(text));
    }
    default:
      return { ok: true, value: text };
  }
}

export function valueToInput(v: FieldValue | undefined): string {
  return v === null || v === undefined ? '' : String(v);
}

export function isEmpty(v: FieldValue | undefined): boolean {
  return v === null || v === undefined || v === '';
}

export function allFields(form: FormDef): Field[] {
  return form.sections.flatMap((s) => s.fields);
}

export function missingRequired(form: FormDef, values: AssessmentDetail['values']): string[] {
  return allFields(form)
    .filter((f) => f.required && isEmpty(values[f.id]))
    .map((f) => f.id);
}

export function hasErrors(issues: Issue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

export function issuesFor(issues: Issue[], fieldId: string): Issue[] {
  return issues.filter((i) => i.fields.includes(fieldId));
}

/** Issues naming no field of this form still have to be shown somewhere. */
export function unplacedIssues(form: FormDef, issues: Issue[]): Issue[] {
  const ids = new Set(allFields(form).map((f) => f.id));
  return issues.filter((i) => !i.fields.some((f) => ids.has(f)));
}
