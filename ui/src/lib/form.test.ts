import { describe, expect, it } from 'vitest';
import type { AssessmentSummary, Field, FormDef, Issue } from './api-types';
import { completeness, groupByMantika, groupMuhallas, rowsOfForm } from './completeness';
import {
  formatValue,
  groupRows,
  issuesFor,
  keysLeft,
  missingGroups,
  namesField,
  isEmpty,
  issuesBySection,
  missingRequired,
  noteHome,
  noteKey,
  parseInput,
  stepField,
  submitBlockers,
  toAsciiDigits,
  toggleOption,
  unplacedIssues,
  visibleSections,
} from './form';

const count: Field = { id: 'idp_hh', type: 'count', label: { en: 'x', ar: 'x' }, hxl: '#x+i_test', required: true, options: [] };
const services: Field = {
  id: 'svc_health',
  type: 'select_one',
  label: { en: 'Health', ar: 'الصحة' },
  hxl: '#x+i_test',
  required: false,
  options: [
    { value: 'yes', label: { en: 'Available', ar: 'متاح' } },
    { value: 'no', label: { en: 'Not available', ar: 'غير متاح' } },
  ],
};
const drivers: Field = {
  id: 'idp_drivers',
  type: 'select_many',
  label: { en: 'Drivers', ar: 'الدوافع' },
  hxl: '#x+i_test',
  required: true,
  options: [
    { value: 'conflict', label: { en: 'Conflict', ar: 'نزاع' } },
    { value: 'economy', label: { en: 'Economy', ar: 'اقتصاد' } },
    { value: 'floods', label: { en: 'Floods', ar: 'فيضانات' } },
  ],
};

function formOf(fields: Field[][]): FormDef {
  return {
    id: 'f', version: 2, level: 3, title: { en: 'f', ar: 'f' }, rules: [],
    sections: fields.map((fs, i) => ({ id: `s${i}`, title: { en: `s${i}`, ar: `s${i}` }, fields: fs })),
  };
}

function issue(rule: string, severity: Issue['severity'], fields: string[], justified = false): Issue {
  return { rule, severity, fields, message: { en: rule, ar: rule }, justified };
}

describe('parseInput', () => {
  it('stores an empty count as null, not zero', () => {
    expect(parseInput(count, '  ')).toEqual({ ok: true, value: null });
  });
  it('accepts whole numbers and Arabic-Indic digits', () => {
    expect(parseInput(count, '42')).toEqual({ ok: true, value: 42 });
    expect(parseInput(count, '٤٢')).toEqual({ ok: true, value: 42 });
    expect(toAsciiDigits('۱۲٣')).toBe('123');
  });
  it('rejects anything that is not a non-negative whole number', () => {
    for (const bad of ['-1', '1.5', '12a', 'abc']) expect(parseInput(count, bad).ok).toBe(false);
  });
  it('applies min and max from the form definition', () => {
    expect(parseInput({ ...count, max: 10 }, '11')).toMatchObject({ ok: false, error: 'form.above_max' });
  });
});

describe('missingRequired', () => {
  it('lists required fields that are null, absent or an empty selection', () => {
    const form = formOf([[count, { ...count, id: 'idp_ind' }, { ...count, id: 'note', required: false }, drivers]]);
    expect(missingRequired(form, { idp_hh: 0, idp_drivers: [] })).toEqual(['idp_ind', 'idp_drivers']);
  });
  it('asks only for relevant fields when told which', () => {
    const form = formOf([[count, { ...count, id: 'idp_ind' }, drivers]]);
    expect(missingRequired(form, { idp_hh: 0 }, ['idp_hh', 'idp_ind'])).toEqual(['idp_ind']);
  });
});

describe('select values', () => {
  it('shows select_one by its option label in the current language', () => {
    expect(formatValue(services, 'no', 'en')).toBe('Not available');
    expect(formatValue(services, 'no', 'ar')).toBe('غير متاح');
    expect(formatValue(services, 'unknown_code', 'en')).toBe('unknown_code');
  });
  it('shows select_many as its labels, comma-separated for the locale', () => {
    expect(formatValue(drivers, ['conflict', 'floods'], 'en')).toBe('Conflict, Floods');
    expect(formatValue(drivers, ['conflict', 'floods'], 'ar')).toBe('نزاع، فيضانات');
  });
  it('formats counts for the locale and leaves empty values empty', () => {
    expect(formatValue(count, 1200, 'en')).toBe('1,200');
    expect(formatValue(count, null, 'en')).toBe('');
  });
  it('ticks options in form order and stores an empty selection as null', () => {
    expect(toggleOption(drivers, ['floods'], 'conflict', true)).toEqual(['conflict', 'floods']);
    expect(toggleOption(drivers, ['floods'], 'floods', false)).toBeNull();
    expect(isEmpty([])).toBe(true);
  });
});

describe('relevance', () => {
  it('shows only relevant fields and drops sections left empty', () => {
    const form = formOf([[count, { ...count, id: 'idp_ind' }], [services]]);
    expect(visibleSections(form, ['idp_ind']).map((s) => [s.id, s.fields.map((f) => f.id)])).toEqual([['s0', ['idp_ind']]]);
  });
  it('shows issues about hidden fields apart', () => {
    const issues = [issue('a', 'error', ['idp_hh']), issue('b', 'warning', ['hidden'])];
    expect(unplacedIssues(['idp_hh'], issues).map((i) => i.rule)).toEqual(['b']);
  });
});

describe('submitBlockers', () => {
  const form = formOf([[count, { ...count, id: 'idp_ind' }], [drivers]]);
  it('lists errors, missing relevant required fields, unjustified warnings and invalid inputs', () => {
    const b = submitBlockers(
      form,
      {
        values: { idp_hh: 5 },
        relevant_fields: ['idp_hh', 'idp_ind'],
        issues: [
          issue('idp_hh_le_ind', 'error', ['idp_hh', 'idp_ind']),
          issue('change:idp_hh', 'warning', ['idp_hh']),
          issue('aggregate:idp_hh', 'warning', ['idp_hh'], true),
        ],
      },
      ['idp_hh'],
    );
    expect(b.blocked).toBe(true);
    expect(b.errors.map((i) => i.rule)).toEqual(['idp_hh_le_ind']);
    expect(b.missing.map((f) => f.id)).toEqual(['idp_ind']); // idp_drivers is required but not relevant
    expect(b.unjustified.map((i) => i.rule)).toEqual(['change:idp_hh']);
    expect(b.invalid.map((f) => f.id)).toEqual(['idp_hh']);
  });
  it('lets a form with only justified warnings through', () => {
    const b = submitBlockers(form, {
      values: { idp_hh: 5, idp_ind: 20, [noteKey('change:idp_hh')]: 'new camp opened' },
      relevant_fields: ['idp_hh', 'idp_ind'],
      issues: [issue('change:idp_hh', 'warning', ['idp_hh'], true)],
    });
    expect(b.blocked).toBe(false);
  });
  it('puts a warning note beside the first shown field it names', () => {
    expect(noteKey('change:idp_ind')).toBe('note:change:idp_ind');
    expect(noteHome(issue('r', 'warning', ['hidden', 'idp_ind', 'idp_hh']), ['idp_hh', 'idp_ind'])).toBe('idp_ind');
    expect(noteHome(issue('r', 'warning', ['hidden']), ['idp_hh'])).toBeNull();
  });
});

const row = (pcode: string, mantika: string, status: AssessmentSummary['status'], form = 'baladiya'): AssessmentSummary => ({
  key: { round: 'R1', form, location: pcode },
  location: { pcode, level: form === 'muhalla' ? 4 : 3, name_en: pcode, name_ar: pcode },
  mantika: { pcode: mantika, level: 2, name_en: mantika, name_ar: mantika },
  status, version: 1, open_conflicts: 0, pending_ops: 0,
});

describe('completeness', () => {
  it('counts submitted and approved as complete', () => {
    const c = completeness([row('A1', 'A', 'approved'), row('A2', 'A', 'submitted'), row('B1', 'B', 'draft'), row('B2', 'B', 'not_started')]);
    expect(c.ratio).toBe(0.5);
    expect(c.counts).toEqual({ not_started: 1, draft: 1, submitted: 1, returned: 0, approved: 1, voided: 0 });
  });
  it('groups baladiyas under their mantika in P-code order', () => {
    const groups = groupByMantika([row('B2', 'B', 'draft'), row('A1', 'A', 'approved'), row('B1', 'B', 'submitted')]);
    expect(groups.map((g) => [g.mantika.pcode, g.rows.map((r) => r.location.pcode), g.complete])).toEqual([
      ['A', ['A1'], 1],
      ['B', ['B1', 'B2'], 1],
    ]);
  });
  it('counts one form at a time', () => {
    const rows = [row('LY010101', 'LY0101', 'approved'), row('LY01010101', 'LY0101', 'draft', 'muhalla')];
    expect(completeness(rowsOfForm(rows, 'baladiya')).total).toBe(1);
    expect(rowsOfForm(rows, 'muhalla').map((r) => r.key.location)).toEqual(['LY01010101']);
  });
});

describe('groupMuhallas', () => {
  it('lists each baladiya with the muhallas whose P-code starts with its own', () => {
    const groups = groupMuhallas([
      row('LY01010102', 'LY0101', 'submitted', 'muhalla'),
      row('LY010102', 'LY0101', 'draft'),
      row('LY010101', 'LY0101', 'not_started'),
      row('LY01010101', 'LY0101', 'approved', 'muhalla'),
      row('LY01010201', 'LY0101', 'draft', 'muhalla'),
    ]);
    expect(groups.map((g) => [g.pcode, g.baladiya?.key.location, g.muhallas.map((m) => m.key.location), g.muhallasComplete])).toEqual([
      ['LY010101', 'LY010101', ['LY01010101', 'LY01010102'], 2],
      ['LY010102', 'LY010102', ['LY01010201'], 0],
    ]);
  });
  it('gives muhallas whose baladiya is not listed a group of their own', () => {
    const groups = groupMuhallas([row('LY02020201', 'LY0202', 'draft', 'muhalla'), row('LY010101', 'LY0101', 'draft')]);
    expect(groups.map((g) => [g.pcode, g.baladiya?.key.location ?? null, g.muhallas.length])).toEqual([
      ['LY010101', 'LY010101', 0],
      ['LY020202', null, 1],
    ]);
  });
});

describe('entry flow', () => {
  const f = (id: string): Field => ({ ...count, id });
  const sections = visibleSections(
    formOf([[f('idp_hh'), f('idp_ind')], [f('mig_men'), f('mig_women'), f('mig_children'), f('mig_ind')]]),
    ['idp_hh', 'idp_ind', 'mig_men', 'mig_women', 'mig_children', 'mig_ind'],
  );
  const order = sections.flatMap((s) => s.fields.map((x) => x.id));

  it('moves Enter to the next field and Shift+Enter back, across sections, stopping at the ends', () => {
    expect(stepField(order, 'idp_hh', false)).toBe('idp_ind');
    expect(stepField(order, 'idp_ind', false), 'Enter crosses into the next section').toBe('mig_men');
    expect(stepField(order, 'mig_men', true)).toBe('idp_ind');
    expect(stepField(order, 'idp_hh', true)).toBeNull();
    expect(stepField(order, 'mig_ind', false)).toBeNull();
    expect(stepField(order, 'note:x', false), 'a note box is not in the field order').toBeNull();
  });

  it('shows each issue once, under the section of its first shown field', () => {
    const sum = issue('migrant_breakdown', 'error', ['mig_men', 'mig_women', 'mig_children', 'mig_ind']);
    const across = issue('ratio', 'warning', ['mig_ind', 'idp_hh']);
    const hidden = issue('gone', 'error', ['not_shown']);
    const bySection = issuesBySection(sections, [sum, across, hidden]);
    expect(bySection.get('s1')).toEqual([sum, across]);
    expect(bySection.get('s0')).toBeUndefined();
    expect([...bySection.values()].flat(), 'an issue on no shown field goes to Other checks instead').not.toContain(hidden);
  });
});

describe('numbers as people type them', () => {
  const count: Field = { id: 'idp_ind', type: 'count', label: { en: 'IDPs', ar: 'نازحون' }, hxl: '#x+i_test', required: false, options: [] };
  it('reads thousands separators and Arabic digits as the whole number', async () => {
    const { parseInput } = await import('./form');
    for (const typed of ['2300', '2,300', '2 300', '2\u202F300', '٢٣٠٠', '٢٬٣٠٠']) {
      expect(parseInput(count, typed), typed).toEqual({ ok: true, value: 2300 });
    }
    expect(parseInput(count, '1,234,567')).toEqual({ ok: true, value: 1234567 });
  });
  it('refuses what is not a grouped whole number rather than guessing', async () => {
    const { parseInput } = await import('./form');
    for (const typed of ['2.300', '23,00', '2,30', ',300', '2,,300']) {
      expect(parseInput(count, typed).ok, `${typed} is ambiguous or malformed`).toBe(false);
    }
  });
});

describe('repeated groups (nationalities)', () => {
  const nationalities: FormDef['sections'][number] = {
    id: 'mig_nat',
    title: { en: 'Migrants by nationality', ar: 'المهاجرون حسب الجنسية' },
    presence: 'mig_present',
    repeat: {
      key: {
        id: 'nationality',
        label: { en: 'Nationality', ar: 'الجنسية' },
        hxl: '#country+code',
        vocabulary: 'nationalities',
        options: [
          { value: 'ner', label: { en: 'Niger', ar: 'النيجر' }, path: [] },
          { value: 'egy', label: { en: 'Egypt', ar: 'مصر' }, path: [] },
          { value: 'sdn', label: { en: 'Sudan', ar: 'السودان' }, path: [] },
        ],
      },
      required: true,
    },
    fields: [{ id: 'ind', type: 'count', label: { en: 'Migrant individuals', ar: 'أفراد' }, hxl: '#affected+migrants+ind', required: true, options: [] }],
  };
  const form = {
    id: 'muhalla',
    version: 2,
    level: 4,
    title: { en: 'Muhalla', ar: 'محلة' },
    sections: [{ id: 'migrants', title: { en: 'Migrants', ar: 'المهاجرون' }, fields: [count] }, nationalities],
    rules: [],
  } as FormDef;

  it('shows one row per nationality that holds a value, in the list order, labelled by the nationality', () => {
    const rows = groupRows(nationalities, { 'mig_nat.sdn.ind': 25, 'mig_nat.ner.ind': 70, 'mig_nat.egy.ind': null });
    expect(rows.map((r) => r.id)).toEqual(['mig_nat.ner.ind', 'mig_nat.sdn.ind']);
    expect(rows[0].label.en).toBe('Niger');
    expect(rows[0].required, 'a row is optional; the group as a whole is required').toBe(false);
  });

  it('keeps a row just added, before it holds a value, and offers only the nationalities left', () => {
    const rows = groupRows(nationalities, { 'mig_nat.ner.ind': 70 }, ['mig_nat.egy']);
    expect(rows.map((r) => r.id)).toEqual(['mig_nat.ner.ind', 'mig_nat.egy.ind']);
    expect(keysLeft(nationalities, rows).map((k) => k.value)).toEqual(['sdn']);
  });

  it('shows the group only while Rust asks it, even with no row yet, so a first row can be added', () => {
    expect(visibleSections(form, ['idp_hh', 'mig_nat.ind'], {}).map((s) => s.id)).toEqual(['migrants', 'mig_nat']);
    expect(visibleSections(form, ['idp_hh'], { 'mig_nat.ner.ind': 3 }).map((s) => s.id), 'migrants absent: no group').toEqual([
      'migrants',
    ]);
  });

  it('counts a required group with no row as missing, and one row as enough', () => {
    const detail = { values: {}, issues: [], relevant_fields: ['mig_nat.ind'] };
    expect(missingGroups(form, detail.values, detail.relevant_fields).map((f) => f.id)).toEqual(['mig_nat']);
    expect(submitBlockers(form, detail).blocked).toBe(true);
    expect(missingGroups(form, { 'mig_nat.sdn.ind': 4 }, detail.relevant_fields)).toEqual([]);
  });

  it('puts a rule over the group on its rows', () => {
    const sum: Issue = { rule: 'mig_nationality_breakdown', severity: 'error', fields: ['mig_nat.ind', 'mig_ind'], message: { en: '', ar: '' }, justified: false };
    expect(namesField('mig_nat.ind', 'mig_nat.sdn.ind')).toBe(true);
    expect(namesField('mig_nat.ind', 'mig_nat_other')).toBe(false);
    expect(issuesFor([sum], 'mig_nat.ner.ind')).toEqual([sum]);
    expect(noteHome(sum, ['mig_nat.ner.ind'])).toBe('mig_nat.ner.ind');
    expect(unplacedIssues(['mig_nat.ner.ind'], [sum])).toEqual([]);
  });
});
