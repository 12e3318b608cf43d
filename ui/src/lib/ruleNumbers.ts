// The numbers behind a rule that fails, so the enumerator sees what to fix:
// "60 + 30 + 5 = 95, not 100" rather than only "… must equal migrant individuals".
// Issues from Rust carry the rule id and its message, not the values; the text is
// computed here from the form's rule definition and the stored values the rule saw.

import type { AssessmentDetail, Rule } from './api-types';
import { formatNumber, ltr, translate, type Locale } from './i18n';

const NAME = '[A-Za-z_][A-Za-z0-9_]*';
const FIELD = new RegExp(`^${NAME}$`);
/** `group.field`: a repeated group's field, summed over its rows. */
const GROUP = new RegExp(`^${NAME}\\.${NAME}$`);

/** A rule that says parts add up to a total: `a + b + c == d` or `sum(a, b, c) == d`, either side first. */
export interface SumRule {
  parts: string[];
  total: string;
}

function sumSide(side: string): string[] | null {
  const s = side.trim();
  const call = /^sum\s*\((.*)\)$/.exec(s);
  const names = (call ? call[1].split(',') : s.split('+')).map((n) => n.trim());
  const groups = names.some((n) => GROUP.test(n));
  return (names.length >= 2 || groups) && names.every((n) => FIELD.test(n) || GROUP.test(n)) ? names : null;
}

export function parseSumRule(expr: string): SumRule | null {
  const halves = expr.split('==');
  if (halves.length !== 2) return null;
  const [l, r] = halves.map((h) => h.trim());
  const lp = sumSide(l);
  if (lp && FIELD.test(r)) return { parts: lp, total: r };
  const rp = sumSide(r);
  if (rp && FIELD.test(l)) return { parts: rp, total: l };
  return null;
}

/** A rule comparing two fields: `a <= b`, `a >= b`, `a < b`, `a > b`. */
export interface CompareRule {
  left: string;
  op: '<=' | '>=' | '<' | '>';
  right: string;
}

export function parseCompareRule(expr: string): CompareRule | null {
  const m = new RegExp(`^\\s*(${NAME})\\s*(<=|>=|<|>)\\s*(${NAME})\\s*$`).exec(expr);
  return m ? { left: m[1], op: m[2] as CompareRule['op'], right: m[3] } : null;
}

/** What the comparison is when the rule fails: the opposite of what it asks. */
const BROKEN: Record<CompareRule['op'], string> = { '<=': '>', '>=': '<', '<': '≥', '>': '≤' };

type Values = AssessmentDetail['values'];

function num(values: Values, id: string): number | null {
  const v = values[id];
  return typeof v === 'number' ? v : null;
}

/** The numbers of a group's rows for `group.field`, in key order; none is not a number. */
function rows(values: Values, name: string): (number | null)[] {
  const [group, field] = name.split('.');
  const found = Object.keys(values)
    .filter((k) => k.startsWith(`${group}.`) && k.endsWith(`.${field}`) && k.split('.').length === 3)
    .sort()
    .map((k) => num(values, k))
    .filter((n) => n !== null);
  return found.length > 0 ? found : [null];
}

/**
 * The arithmetic of a failing rule in the locale, or null when the rule is not a plain
 * sum or comparison, or a value it needs is not a number. In Arabic the arithmetic is one
 * left-to-right isolated run, so it reads "60 + 30 + 5 = 95" there too, as on paper.
 */
export function ruleNumbers(rule: Pick<Rule, 'expr'> | undefined, values: Values, l: Locale): string | null {
  if (!rule) return null;
  const sum = parseSumRule(rule.expr);
  if (sum) {
    const parts = sum.parts.flatMap((p) => (GROUP.test(p) ? rows(values, p) : [num(values, p)]));
    const total = num(values, sum.total);
    if (total === null || parts.some((p) => p === null)) return null;
    const added = (parts as number[]).reduce((a, b) => a + b, 0);
    if (added === total) return null;
    const arithmetic = `${(parts as number[]).map((p) => formatNumber(p, l)).join(' + ')} = ${formatNumber(added, l)}`;
    return translate(l, 'rule.sum_numbers', { sum: l === 'ar' ? ltr(arithmetic) : arithmetic, total: formatNumber(total, l) });
  }
  const cmp = parseCompareRule(rule.expr);
  if (cmp) {
    const a = num(values, cmp.left);
    const b = num(values, cmp.right);
    if (a === null || b === null) return null;
    const text = `${formatNumber(a, l)} ${BROKEN[cmp.op]} ${formatNumber(b, l)}`;
    return translate(l, 'rule.compare_numbers', { numbers: l === 'ar' ? ltr(text) : text });
  }
  return null;
}

