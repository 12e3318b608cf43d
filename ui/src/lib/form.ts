// Pure logic of the data-entry form: parsing what was typed, and whether the
// assessment may be submitted. Rule checks themselves come from the backend.

import type { AssessmentDetail, Field, FieldValue, FormDef, Issue, Section, Text } from './api-types';
import { formatNumber, type Locale, type MessageKey, type Params } from './i18n';

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
/**
 * A whole number as people type it: "2,300", "2 300" (with any space), "٢٬٣٠٠" (Arabic
 * digits and separator) all mean 2300. Only well-formed groups of three count as
 * separators; "2.300" stays refused, since it reads as a decimal in English.
 */
const GROUPED = /^[0-9]{1,3}([,\u066C\u00A0\u202F ][0-9]{3})+$/;

export function withoutGrouping(text: string): string {
  return GROUPED.test(text) ? text.replace(/[,\u066C\u00A0\u202F ]/g, '') : text;
}

export function parseInput(field: Field, raw: string): Parsed {
  const text = withoutGrouping(toAsciiDigits(raw).trim());
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
  if (Array.isArray(v)) return v.join(', ');
  return v === null || v === undefined ? '' : String(v);
}

/** Not answered: null, absent, '' or an empty selection. */
export function isEmpty(v: FieldValue | undefined): boolean {
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
}

/** Same stored value (select_many lists compare element by element, in order). */
export function sameValue(a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]);
  }
  return (a ?? null) === (b ?? null);
}

/** A select_many value after ticking or unticking `option`, in the form's option order; [] → null. */
export function toggleOption(field: Field, current: FieldValue | undefined, option: string, on: boolean): string[] | null {
  const chosen = new Set(Array.isArray(current) ? current : []);
  if (on) chosen.add(option);
  else chosen.delete(option);
  const ordered = field.options.map((o) => o.value).filter((v) => chosen.has(v));
  // Values HQ knows but this form version does not list stay, at the end.
  for (const v of chosen) if (!ordered.includes(v)) ordered.push(v);
  return ordered.length ? ordered : null;
}

/** The justification of warning `rule` is stored as an ordinary value under this id. */
export function noteKey(rule: string): string {
  return `note:${rule}`;
}

export function noteText(values: AssessmentDetail['values'], rule: string): string {
  const v = values[noteKey(rule)];
  return typeof v === 'string' ? v : '';
}

/** The label of a select option in the form, or undefined for a value the form does not list. */
export function optionLabel(field: Field, value: string): Text | undefined {
  return field.options.find((o) => o.value === value)?.label;
}

/** A value as a reader sees it: numbers for the locale, select options by their label. */
export function formatValue(field: Field | undefined, v: FieldValue | undefined, l: Locale): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return formatNumber(v, l);
  const label = (s: string) => (field ? optionLabel(field, s)?.[l] : undefined) ?? s;
  if (Array.isArray(v)) return v.map(label).join(l === 'ar' ? '، ' : ', ');
  return field?.type === 'select_one' ? label(v) : v;
}

export function allFields(form: FormDef): Field[] {
  return form.sections.flatMap((s) => s.fields);
}

/** Where one row's value of a repeated group is stored: the same key as Rust's `FormDef::row_key`. */
export function rowKey(group: string, key: string, field: string): string {
  return `${group}.${key}.${field}`;
}

/** Whether an issue's field name covers a shown field: itself, or `group.field` for each row `group.<key>.field`. */
export function namesField(issueField: string, id: string): boolean {
  if (issueField === id) return true;
  const [group, field, extra] = issueField.split('.');
  if (field === undefined || extra !== undefined) return false;
  const parts = id.split('.');
  return parts.length === 3 && parts[0] === group && parts[2] === field;
}

/**
 * A repeated group's rows as fields the form can show like any other: one per key that
 * holds a value or was just added, in the vocabulary's order (most frequent first),
 * labelled by the key (with the field's label when a row has more than one field).
 */
export function groupRows(section: Section, values: AssessmentDetail['values'], added: string[] = []): Field[] {
  const keys = section.repeat?.key.options ?? [];
  const out: Field[] = [];
  for (const key of keys) {
    const ids = section.fields.map((f) => rowKey(section.id, key.value, f.id));
    if (!ids.some((id) => !isEmpty(values[id])) && !added.includes(`${section.id}.${key.value}`)) continue;
    for (const f of section.fields) {
      const label =
        section.fields.length === 1
          ? key.label
          : { en: `${key.label.en}: ${f.label.en}`, ar: `${key.label.ar}: ${f.label.ar}` };
      out.push({ ...f, id: rowKey(section.id, key.value, f.id), label, required: false, hint: undefined });
    }
  }
  return out;
}

/** The keys a group may still add a row for, in the vocabulary's order. */
export function keysLeft(section: Section, rows: Field[]): { value: string; label: Text }[] {
  const used = new Set(rows.map((f) => f.id.split('.')[1]));
  return (section.repeat?.key.options ?? []).filter((k) => !used.has(k.value));
}

/** Whether a section is asked: Rust names each field asked, a group's as `group.field`. */
function asked(section: Section, shown: Set<string>): boolean {
  return section.fields.some((f) => shown.has(section.repeat ? `${section.id}.${f.id}` : f.id));
}

/**
 * The sections and fields to show: only `relevant` ones (Rust decides), sections left
 * empty dropped. A repeated group that is asked shows its rows (see `groupRows`) and
 * stays even while it has none, so a first row can be added.
 */
export function visibleSections(
  form: FormDef,
  relevant: string[],
  values: AssessmentDetail['values'] = {},
  added: string[] = [],
): Section[] {
  const shown = new Set(relevant);
  return form.sections
    .map((s) => {
      if (s.repeat) return asked(s, shown) ? { ...s, fields: groupRows(s, values, added) } : null;
      const fields = s.fields.filter((f) => shown.has(f.id));
      return fields.length > 0 ? { ...s, fields } : null;
    })
    .filter((s): s is Section => s !== null);
}

/** Required repeated groups that are asked and have no row yet, as the form shows them missing. */
export function missingGroups(form: FormDef, values: AssessmentDetail['values'], relevant: string[]): Field[] {
  const shown = new Set(relevant);
  return form.sections
    .filter((s) => s.repeat?.required && asked(s, shown))
    .filter((s) => Object.entries(values).every(([k, v]) => !k.startsWith(`${s.id}.`) || isEmpty(v)))
    .map((s) => ({ id: s.id, type: 'count', label: s.title, hxl: s.repeat!.key.hxl, required: true, options: [] }));
}

/** Required fields left empty; with `relevant`, only those currently asked. */
export function missingRequired(form: FormDef, values: AssessmentDetail['values'], relevant?: string[]): string[] {
  const asked = relevant ? new Set(relevant) : null;
  return form.sections
    .filter((s) => !s.repeat)
    .flatMap((s) => s.fields)
    .filter((f) => f.required && (!asked || asked.has(f.id)) && isEmpty(values[f.id]))
    .map((f) => f.id);
}

export function unjustifiedWarnings(issues: Issue[]): Issue[] {
  return issues.filter((i) => i.severity === 'warning' && !i.justified);
}

/** Everything that keeps Submit disabled, so the form can say what. */
export interface SubmitBlockers {
  /** Rule errors from Rust. */
  errors: Issue[];
  /** Relevant required fields left empty. */
  missing: Field[];
  /** Warnings without a justification note. */
  unjustified: Issue[];
  /** Inputs holding text that does not parse yet (never sent). */
  invalid: Field[];
  blocked: boolean;
}

export function submitBlockers(
  form: FormDef,
  detail: Pick<AssessmentDetail, 'values' | 'issues' | 'relevant_fields'>,
  invalidFieldIds: string[] = [],
): SubmitBlockers {
  const byId = new Map(allFields(form).map((f) => [f.id, f]));
  const errors = detail.issues.filter((i) => i.severity === 'error');
  const missing = [
    ...missingRequired(form, detail.values, detail.relevant_fields).map((id) => byId.get(id)!),
    ...missingGroups(form, detail.values, detail.relevant_fields),
  ];
  const unjustified = unjustifiedWarnings(detail.issues);
  const invalid = invalidFieldIds.flatMap((id) => byId.get(id) ?? []);
  const blocked = errors.length + missing.length + unjustified.length + invalid.length > 0;
  return { errors, missing, unjustified, invalid, blocked };
}

/** Where a warning's note box goes: the first of its fields that is shown, or null (shown apart). */
export function noteHome(issue: Issue, shown: string[]): string | null {
  for (const f of issue.fields) {
    const home = shown.find((id) => namesField(f, id));
    if (home !== undefined) return home;
  }
  return null;
}

export function hasErrors(issues: Issue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

export function issuesFor(issues: Issue[], fieldId: string): Issue[] {
  return issues.filter((i) => i.fields.some((f) => namesField(f, fieldId)));
}

/** Issues naming no shown field still have to be shown somewhere. */
export function unplacedIssues(shown: string[], issues: Issue[]): Issue[] {
  return issues.filter((i) => noteHome(i, shown) === null);
}

/**
 * Where Enter (or Shift+Enter, `back`) moves from field `current`: the next (previous)
 * shown field in form order, or null at either end. Note boxes are never a stop: they
 * are written after the counts, and Submit's list of blockers leads to them.
 */
export function stepField(order: string[], current: string, back: boolean): string | null {
  const i = order.indexOf(current);
  if (i < 0) return null;
  return order[back ? i - 1 : i + 1] ?? null;
}

/**
 * Each issue under the one section where it is shown: the section of its first shown
 * field. An issue is shown once, below its section's fields, so that a check appearing
 * after a save never lands between the field being typed in and the next one.
 */
export function issuesBySection(sections: Section[], issues: Issue[]): Map<string, Issue[]> {
  const sectionOf = new Map(sections.flatMap((s) => s.fields.map((f) => [f.id, s.id] as const)));
  const shown = [...sectionOf.keys()];
  const out = new Map<string, Issue[]>();
  for (const issue of issues) {
    const home = noteHome(issue, shown);
    if (home === null) continue;
    const id = sectionOf.get(home)!;
    out.set(id, [...(out.get(id) ?? []), issue]);
  }
  return out;
}
