import { describe, expect, it } from 'vitest';
import type { Conflict, Field, FormDef, LocationRef } from './api-types';
import {
  buildResolveRequest,
  compareHlc,
  conflictView,
  decodeHlc,
  emptyDraft,
  formatHlc,
  otherInputMode,
  shortDevice,
  sortConflicts,
  type ResolveDraft,
} from './conflicts';

const count: Field = { id: 'idp_ind', type: 'count', label: { en: 'IDP individuals', ar: 'الأفراد النازحون' }, hxl: '#x+i_test', required: false, options: [] };
const shelter: Field = {
  id: 'shelter',
  type: 'select_many',
  label: { en: 'Shelter', ar: 'المأوى' },
  hxl: '#x+i_test',
  required: false,
  options: [
    { value: 'host', label: { en: 'Host family', ar: 'أسرة مضيفة' } },
    { value: 'rented', label: { en: 'Rented', ar: 'مستأجر' } },
  ],
};
const form: FormDef = {
  id: 'baladiya',
  version: 2,
  level: 3,
  title: { en: 'Baladiya', ar: 'البلدية' },
  sections: [{ id: 's', title: { en: 'S', ar: 'ق' }, fields: [count, shelter] }],
  rules: [],
};
const tripoli: LocationRef = { pcode: 'LY021104', level: 3, name_en: 'Tripoli', name_ar: 'طرابلس' };

function conflict(over: Partial<Conflict> = {}): Conflict {
  return {
    id: 1,
    key: { round: 'R1', form: 'baladiya', location: 'LY021104' },
    field: 'idp_ind',
    base_value: 50,
    current: { value: 55, author: 'enumerator', device: '01a1ff43-bbb3-733e-91bc-e0ccffa401d6', hlc: '001795283991962-0000000000' },
    incoming: { value: 70, author: 'enum2', device: '01a1ff43-bc11-735b-b94c-98d34136a31d', hlc: '001795283992116-0000000003' },
    created_at: '2026-11-21T17:59:52Z',
    kind: 'value',
    status: 'open',
    resolution: null,
    ...over,
  };
}

describe('HLC stamps', () => {
  it('decodes "<15-digit millis>-<10-digit counter>"', () => {
    expect(decodeHlc('001795283991962-0000000007')).toEqual({ millis: 1795283991962, counter: 7 });
    expect(decodeHlc('000000000000000-0000000000')).toEqual({ millis: 0, counter: 0 });
  });

  it('refuses what is not a stamp', () => {
    for (const bad of ['', 'abc', '1795283991962', '001795283991962-', '-1-2', '0017952839919620-0000000000', '12-34-56']) {
      expect(decodeHlc(bad), bad).toBeNull();
    }
  });

  it('formats the wall-clock part as a locale date and time', () => {
    const en = formatHlc('001795283991962-0000000000', 'en', 'UTC');
    expect(en).toBe(new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' }).format(new Date(1795283991962)));
    expect(en).toContain('2026');
    expect(en).toContain('17:59:51');
    const ar = formatHlc('001795283991962-0000000000', 'ar', 'UTC');
    expect(ar).toBe(new Intl.DateTimeFormat('ar-LY', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' }).format(new Date(1795283991962)));
    expect(ar).not.toBe(en);
  });

  it('shows a malformed stamp as it is rather than "Invalid Date"', () => {
    expect(formatHlc('garbage', 'en')).toBe('garbage');
  });

  it('orders by millis, then counter', () => {
    expect(compareHlc('000000000000002-0000000000', '000000000000001-0000000009')).toBeGreaterThan(0);
    expect(compareHlc('000000000000001-0000000001', '000000000000001-0000000002')).toBeLessThan(0);
    expect(compareHlc('000000000000001-0000000001', '000000000000001-0000000001')).toBe(0);
  });
});

describe('shortDevice', () => {
  it('keeps the distinguishing end of a UUIDv7, not its shared time prefix', () => {
    expect(shortDevice('01a1ff43-bbb3-733e-91bc-e0ccffa401d6')).toBe('…ffa401d6');
    expect(shortDevice('01a1ff43-bc11-735b-b94c-98d34136a31d')).toBe('…4136a31d');
  });
  it('leaves short ids alone', () => {
    expect(shortDevice('tab-7')).toBe('tab-7');
  });
});

describe('conflictView (side by side)', () => {
  const locations = new Map([[tripoli.pcode, tripoli]]);

  it('puts current first and incoming second with author, short device, time and the form field', () => {
    const v = conflictView(conflict(), form, locations, 'en', 'UTC');
    expect(v.field?.label.en).toBe('IDP individuals');
    expect(v.location).toEqual(tripoli);
    expect(v.open).toBe(true);
    expect(v.base).toEqual({ value: 50, text: '50', empty: false });
    expect(v.sides.map((s) => s.which)).toEqual(['current', 'incoming']);
    const [cur, inc] = v.sides;
    expect([cur.text, cur.author, cur.deviceShort]).toEqual(['55', 'enumerator', '…ffa401d6']);
    expect([inc.text, inc.author, inc.deviceShort]).toEqual(['70', 'enum2', '…4136a31d']);
    expect(cur.when).toBe(formatHlc(cur.hlc, 'en', 'UTC'));
    expect(v.previous, 'no previous round sent, none shown').toBeNull();
    const named = conflictView(
      {
        ...conflict(),
        current: { ...conflict().current, author_name: 'Salem (Tripoli)', device_name: 'Salem’s laptop' },
        previous: { round: 'R0', value: 48 },
      },
      form,
      locations,
      'en',
      'UTC',
    );
    expect([named.sides[0].author, named.sides[0].username, named.sides[0].deviceShort]).toEqual([
      'Salem (Tripoli)',
      'enumerator',
      'Salem’s laptop',
    ]);
    expect(named.previous).toEqual({ round: 'R0', text: '48', empty: false });
    expect([cur.later, inc.later]).toEqual([false, true]);
  });

  it('formats numbers and options for the locale and marks empty values', () => {
    const big = conflictView(conflict({ base_value: null, current: { ...conflict().current, value: 12000 } }), form, locations, 'en', 'UTC');
    expect(big.base.empty).toBe(true);
    expect(big.sides[0].text).toBe('12,000');
    const sel = conflictView(
      conflict({ field: 'shelter', base_value: ['host'], current: { ...conflict().current, value: ['host', 'rented'] } }),
      form,
      locations,
      'ar',
      'UTC',
    );
    expect(sel.base.text).toBe('أسرة مضيفة');
    expect(sel.sides[0].text).toBe('أسرة مضيفة، مستأجر');
  });

  it('still shows a conflict whose field or location is unknown here', () => {
    const v = conflictView(conflict({ field: 'gone' }), null, new Map(), 'en');
    expect(v.field).toBeUndefined();
    expect(v.location).toBeNull();
    expect(v.sides[1].text).toBe('70');
  });
});

describe('sortConflicts', () => {
  it('lists open conflicts first', () => {
    const done = conflict({ id: 1, status: 'resolved', resolution: { value: 62, by: 's', reason: 'r', at: 'x' } });
    const open = conflict({ id: 2, key: { round: 'R1', form: 'baladiya', location: 'LY099999' } });
    expect(sortConflicts([done, open]).map((c) => c.id)).toEqual([2, 1]);
  });
});

describe('buildResolveRequest', () => {
  const draft = (over: Partial<ResolveDraft>): ResolveDraft => ({ ...emptyDraft(), ...over });

  it('builds keep / take requests with the reason trimmed', () => {
    expect(buildResolveRequest(count, draft({ choice: 'current', reason: '  phoned the KI  ' }))).toEqual({
      ok: true,
      request: { choice: 'current', reason: 'phoned the KI' },
    });
    expect(buildResolveRequest(count, draft({ choice: 'incoming', reason: 'newer visit' }))).toEqual({
      ok: true,
      request: { choice: 'incoming', reason: 'newer visit' },
    });
  });

  it('refuses an empty or blank reason', () => {
    for (const reason of ['', '   ', '\n\t']) {
      const built = buildResolveRequest(count, draft({ choice: 'current', reason }));
      expect(built.ok).toBe(false);
      if (!built.ok) expect(built.problems).toEqual([{ at: 'reason', key: 'conflicts.problem_reason' }]);
    }
  });

  it('needs a choice', () => {
    const built = buildResolveRequest(count, draft({ reason: 'x' }));
    expect(built).toEqual({ ok: false, problems: [{ at: 'choice', key: 'conflicts.problem_choice' }] });
  });

  it('parses another count like the form does, Arabic-Indic digits included', () => {
    expect(buildResolveRequest(count, draft({ choice: 'other', otherText: ' 62 ', reason: 'recount' }))).toEqual({
      ok: true,
      request: { choice: 'other', value: 62, reason: 'recount' },
    });
    expect(buildResolveRequest(count, draft({ choice: 'other', otherText: '٦٢', reason: 'r' }))).toMatchObject({
      ok: true,
      request: { value: 62 },
    });
  });

  it('reports every problem at once: bad value and no reason', () => {
    const built = buildResolveRequest(count, draft({ choice: 'other', otherText: '-3', reason: ' ' }));
    expect(built.ok).toBe(false);
    if (!built.ok) {
      expect(built.problems.map((p) => p.at).sort()).toEqual(['reason', 'value']);
      expect(built.problems.find((p) => p.at === 'value')?.key).toBe('form.not_a_count');
    }
    const empty = buildResolveRequest(count, draft({ choice: 'other', otherText: '', reason: 'r' }));
    expect(empty).toEqual({ ok: false, problems: [{ at: 'value', key: 'conflicts.problem_value' }] });
  });

  it('sends select_many options in form order', () => {
    const built = buildResolveRequest(shelter, draft({ choice: 'other', otherOptions: ['rented', 'host'], reason: 'r' }));
    expect(built).toEqual({ ok: true, request: { choice: 'other', value: ['host', 'rented'], reason: 'r' } });
  });
});

describe('otherInputMode', () => {
  it('asks for the numeric keypad for counts', () => {
    expect(otherInputMode(count)).toBe('numeric');
    expect(otherInputMode(shelter)).toBe('text');
  });
});
