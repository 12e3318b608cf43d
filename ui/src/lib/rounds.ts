// Round administration: which status changes an admin may make, and import errors.

import type { CellError, FormSummary, RoundInfo, RoundStatus } from './api-types';
import { errorMessage } from './errors';
import type { Locale } from './i18n';

/**
 * What to say of a refused or warned import cell: in English HQ's own sentence, which
 * names the figures; in Arabic the code's words (HQ writes its row messages in English).
 */
export function importProblem(l: Locale, e: CellError): string {
  return l === 'en' ? e.message : errorMessage(l, { code: e.code, message: e.message });
}

/** planned → open → closed → published; a closed round may be reopened; published is frozen. */
export function nextRoundStatuses(status: RoundStatus): RoundStatus[] {
  switch (status) {
    case 'planned':
      return ['open'];
    case 'open':
      return ['closed'];
    case 'closed':
      return ['open', 'published'];
    case 'published':
      return [];
  }
}

/**
 * The forms a new round uses unless the admin changes them: the newest version of each
 * form HQ can collect, coarsest level first (baladiya, then muhalla). Never a fixed
 * version, which would start new rounds on forms without their newest modules.
 */
export function defaultRoundForms(available: readonly FormSummary[]): { form: string; version: number }[] {
  return available
    .filter((f) => f.latest)
    .sort((a, b) => a.level - b.level || a.id.localeCompare(b.id))
    .map((f) => ({ form: f.id, version: f.version }));
}

/** A suggestion for the next round: the number after the highest, code R<number>. */
export function nextRoundNumber(rounds: RoundInfo[]): number {
  return rounds.reduce((n, r) => Math.max(n, r.number), 0) + 1;
}

/** Import errors in file order: by row, then column. */
export function sortImportErrors(errors: CellError[]): CellError[] {
  const text = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  // A workbook's sheets in the order read; within a sheet, by row, then column.
  return [...errors].sort((a, b) => text(a.sheet ?? '', b.sheet ?? '') || a.row - b.row || text(a.column, b.column));
}

/** Where a cell is, as a spreadsheet names it: `Nationalities!L2`'s sheet and column, or the column alone in a CSV. */
export function cellColumn(e: Pick<CellError, 'sheet' | 'column'>): string {
  return e.sheet ? `${e.sheet.trim()}!${e.column}` : e.column;
}

/** What is wrong with a new-round form before sending it; empty when it can be sent. */
export function roundFormProblems(input: {
  code: string;
  number: number | null;
  title: string;
  window_start: string;
  window_end: string;
  forms: { form: string; version: number | null }[];
}): ('code' | 'number' | 'title' | 'window' | 'forms')[] {
  const out: ('code' | 'number' | 'title' | 'window' | 'forms')[] = [];
  if (!/^R[0-9]+$/.test(input.code.trim())) out.push('code');
  if (input.number === null || !Number.isInteger(input.number) || input.number < 1) out.push('number');
  if (input.title.trim() === '') out.push('title');
  if (!input.window_start || !input.window_end || input.window_end < input.window_start) out.push('window');
  const forms = input.forms.filter((f) => f.form.trim() !== '');
  if (forms.length === 0 || forms.some((f) => f.version === null || !Number.isInteger(f.version) || f.version < 1)) {
    out.push('forms');
  }
  return out;
}
