import type { AssessmentStatus } from './api-types';
import type { MessageKey } from './i18n';

export const STATUSES: AssessmentStatus[] = ['not_started', 'draft', 'submitted', 'returned', 'approved', 'voided'];

export type ChipTone = 'neutral' | 'progress' | 'waiting' | 'attention' | 'done' | 'withdrawn';

export interface StatusChip {
  label: MessageKey;
  tone: ChipTone;
}

/** How each status looks: every status gets its own label and its own colour. */
export function statusChip(status: AssessmentStatus): StatusChip {
  switch (status) {
    case 'not_started':
      return { label: 'status.not_started', tone: 'neutral' };
    case 'draft':
      return { label: 'status.draft', tone: 'progress' };
    case 'submitted':
      return { label: 'status.submitted', tone: 'waiting' };
    case 'returned':
      return { label: 'status.returned', tone: 'attention' };
    case 'approved':
      return { label: 'status.approved', tone: 'done' };
    case 'voided':
      return { label: 'status.voided', tone: 'withdrawn' };
  }
}

/** An enumerator may edit until the assessment is handed in; a return hands it back. */
export function isEditable(status: AssessmentStatus): boolean {
  return status !== 'submitted' && status !== 'approved' && status !== 'voided';
}

/** Counted as complete on the dashboard: handed in, whether reviewed yet or not. */
export function isComplete(status: AssessmentStatus): boolean {
  return status === 'submitted' || status === 'approved';
}
