// Pure logic of the Conflicts tab: reading HLC stamps, the side-by-side model of a
// conflict, and building the resolve request (with the checks HQ would refuse).

import type { Conflict, ConflictSide, Field, FieldValue, FormDef, LocationRef, ResolveRequest } from './api-types';
import { allFields, formatValue, isEmpty, parseInput } from './form';
import type { Locale, MessageKey, Params } from './i18n';

/** A decoded hybrid logical clock stamp: wall-clock milliseconds and a tie-break counter. */
export interface Hlc {
  millis: number;
  counter: number;
}

/** `"<15-digit millis>-<10-digit counter>"` (dtm-core `Hlc::encode`) → parts; null when malformed. */
export function decodeHlc(s: string): Hlc | null {
  const m = /^(\d{1,15})-(\d{1,10})$/.exec(s.trim());
  if (!m) return null;
  const millis = Number(m[1]);
  const counter = Number(m[2]);
  if (!Number.isSafeInteger(millis) || !Number.isSafeInteger(counter)) return null;
  return { millis, counter };
}

const dateLocale: Record<Locale, string> = { en: 'en-GB', ar: 'ar-LY' };

/** The wall-clock time of an HLC stamp, date and time for the locale; the raw stamp if it is not one. */
export function formatHlc(s: string, l: Locale, timeZone?: string): string {
  const hlc = decodeHlc(s);
  if (!hlc) return s;
  const d = new Date(hlc.millis);
  if (Number.isNaN(d.getTime())) return s;
  return new Intl.DateTimeFormat(dateLocale[l], { dateStyle: 'medium', timeStyle: 'medium', timeZone }).format(d);
}

/** HLC stamps compare as (millis, counter); the text form sorts the same way. */
export function compareHlc(a: string, b: string): number {
  const x = decodeHlc(a);
  const y = decodeHlc(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  return x.millis - y.millis || x.counter - y.counter;
}

/**
 * A device id short enough to read. Device ids are UUIDv7, whose first digits are a
 * timestamp shared by devices set up the same day, so the *last* 8 hex digits are kept.
 */
export function shortDevice(device: string): string {
  const hex = device.replace(/[^0-9a-f]/gi, '');
  if (hex.length <= 8) return device;
  return `…${hex.slice(-8).toLowerCase()}`;
}

export type SideName = 'current' | 'incoming';

export interface SideView {
  which: SideName;
  value: FieldValue;
  /** The value as a reader sees it; '' for an empty value (the view says "not answered"). */
  text: string;
  empty: boolean;
  /** The author's display name, or the username where HQ does not know the account. */
  author: string;
  username: string;
  device: string;
  /** The device's name, or the last digits of its id where it has none. */
  deviceShort: string;
  hlc: string;
  /** Locale date and time the device wrote it, from its HLC stamp. */
  when: string;
  /** The later of the two writes (by HLC). */
  later: boolean;
}

export interface ConflictView {
  id: number;
  open: boolean;
  pcode: string;
  /** From the round's assessment list; null when HQ did not list that location. */
  location: LocationRef | null;
  fieldId: string;
  /** The form's field, or undefined when this form version does not have it. */
  field: Field | undefined;
  base: { value: FieldValue; text: string; empty: boolean };
  /** The field in the previous round that has the location, for context. */
  previous: { round: string; text: string; empty: boolean } | null;
  /** Always [current, incoming]: current is on the reading-start side. */
  sides: [SideView, SideView];
}

function valueText(field: Field | undefined, v: FieldValue, l: Locale) {
  return { text: isEmpty(v) ? '' : formatValue(field, v, l), empty: isEmpty(v) };
}

/** The side-by-side model of one conflict, in locale `l`. */
export function conflictView(
  c: Conflict,
  form: FormDef | null,
  locations: ReadonlyMap<string, LocationRef>,
  l: Locale,
  timeZone?: string,
): ConflictView {
  const field = form ? allFields(form).find((f) => f.id === c.field) : undefined;
  const laterSide: SideName = compareHlc(c.incoming.hlc, c.current.hlc) > 0 ? 'incoming' : 'current';
  const side = (which: SideName, s: ConflictSide): SideView => ({
    which,
    value: s.value,
    ...valueText(field, s.value, l),
    author: s.author_name ?? s.author,
    username: s.author,
    device: s.device,
    deviceShort: s.device_name ?? shortDevice(s.device),
    hlc: s.hlc,
    when: formatHlc(s.hlc, l, timeZone),
    later: which === laterSide,
  });
  return {
    id: c.id,
    open: c.status === 'open',
    pcode: c.key.location,
    location: locations.get(c.key.location) ?? null,
    fieldId: c.field,
    field,
    base: { value: c.base_value, ...valueText(field, c.base_value, l) },
    previous: c.previous ? { round: c.previous.round, ...valueText(field, c.previous.value, l) } : null,
    sides: [side('current', c.current), side('incoming', c.incoming)],
  };
}

/** Open conflicts first, then by P-code, field and id (HQ already sends them so; this keeps it after a change). */
export function sortConflicts(list: Conflict[]): Conflict[] {
  const rank = (c: Conflict) => (c.status === 'open' ? 0 : 1);
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...list].sort(
    (a, b) => rank(a) - rank(b) || cmp(a.key.location, b.key.location) || cmp(a.field, b.field) || a.id - b.id,
  );
}

export type Choice = 'current' | 'incoming' | 'other';

/** What the supervisor has filled in for one conflict. */
export interface ResolveDraft {
  choice: Choice | null;
  reason: string;
  /** For "other": what was typed (counts, numbers, text, dates) … */
  otherText: string;
  /** … or, for select fields, the options chosen. */
  otherOptions: string[];
}

export function emptyDraft(): ResolveDraft {
  return { choice: null, reason: '', otherText: '', otherOptions: [] };
}

export interface Problem {
  /** Which input the problem belongs to. */
  at: 'choice' | 'reason' | 'value';
  key: MessageKey;
  params?: Params;
}

export type Built = { ok: true; request: ResolveRequest } | { ok: false; problems: Problem[] };

/** The value typed or chosen for "other", parsed like the data-entry form does. */
function otherValue(field: Field | undefined, draft: ResolveDraft): { ok: true; value: FieldValue } | { ok: false; problem: Problem } {
  if (field?.type === 'select_many') {
    // Keep the form's option order.
    const chosen = field.options.map((o) => o.value).filter((v) => draft.otherOptions.includes(v));
    if (chosen.length === 0) return { ok: false, problem: { at: 'value', key: 'conflicts.problem_value' } };
    return { ok: true, value: chosen };
  }
  if (field?.type === 'select_one') {
    const v = draft.otherOptions[0] ?? draft.otherText;
    if (!v) return { ok: false, problem: { at: 'value', key: 'conflicts.problem_value' } };
    return { ok: true, value: v };
  }
  if (draft.otherText.trim() === '') return { ok: false, problem: { at: 'value', key: 'conflicts.problem_value' } };
  if (!field) {
    // A field this form version does not list: a number if it looks like one, else text.
    const text = draft.otherText.trim();
    return { ok: true, value: /^[0-9]+$/.test(text) ? Number(text) : text };
  }
  const parsed = parseInput(field, draft.otherText);
  if (!parsed.ok) return { ok: false, problem: { at: 'value', key: parsed.error, params: parsed.params } };
  return { ok: true, value: parsed.value };
}

/**
 * The `ResolveRequest` for a draft, or what is missing: a choice, a reason (never only
 * spaces; HQ answers `reason_required`), and for "other" a value the field accepts.
 * The reason is sent trimmed.
 */
export function buildResolveRequest(field: Field | undefined, draft: ResolveDraft): Built {
  const problems: Problem[] = [];
  if (!draft.choice) problems.push({ at: 'choice', key: 'conflicts.problem_choice' });
  const reason = draft.reason.trim();
  if (reason === '') problems.push({ at: 'reason', key: 'conflicts.problem_reason' });
  let value: FieldValue = null;
  if (draft.choice === 'other') {
    const v = otherValue(field, draft);
    if (v.ok) value = v.value;
    else problems.push(v.problem);
  }
  if (problems.length > 0 || !draft.choice) return { ok: false, problems };
  switch (draft.choice) {
    case 'current':
      return { ok: true, request: { choice: 'current', reason } };
    case 'incoming':
      return { ok: true, request: { choice: 'incoming', reason } };
    case 'other':
      return { ok: true, request: { choice: 'other', value, reason } };
  }
}

/** Counts and numbers get the numeric keypad on phones and tablets. */
export function otherInputMode(field: Field | undefined): 'numeric' | 'decimal' | 'text' {
  if (field?.type === 'count') return 'numeric';
  if (field?.type === 'number') return 'decimal';
  return 'text';
}

/** How many of the list are still open; for the tab badge. */
export function openCount(list: Conflict[]): number {
  return list.filter((c) => c.status === 'open').length;
}
