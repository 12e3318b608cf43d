// Every user-visible string, in English and Arabic. Components call t(key);
// reading t() inside a template or $derived re-renders when the locale changes.

import { createSubscriber } from 'svelte/reactivity';
import type { Text } from './api-types';

export type Locale = 'en' | 'ar';
export const LOCALES: Locale[] = ['en', 'ar'];
export const LOCALE_KEY = 'dtm.locale';

type Entry = Record<Locale, string>;

export const messages = {
  'app.title': { en: 'DTM Libya', ar: 'مصفوفة تتبع النزوح – ليبيا' },
  'app.field': { en: 'Field app', ar: 'التطبيق الميداني' },
  'app.hq': { en: 'HQ dashboard', ar: 'لوحة المقر' },
  'app.signed_in_as': { en: '{name} · {role}', ar: '{name} · {role}' },
  'lang.switch_to': { en: 'العربية', ar: 'English' },
  'lang.switch_label': { en: 'Switch language to Arabic', ar: 'تغيير اللغة إلى الإنجليزية' },

  'common.loading': { en: 'Loading…', ar: 'جارٍ التحميل…' },
  'common.back': { en: 'Back', ar: 'رجوع' },
  'common.logout': { en: 'Sign out', ar: 'تسجيل الخروج' },
  'common.retry': { en: 'Try again', ar: 'حاول مرة أخرى' },

  'role.enumerator': { en: 'Enumerator', ar: 'عدّاد ميداني' },
  'role.supervisor': { en: 'Supervisor', ar: 'مشرف' },
  'role.admin': { en: 'Administrator', ar: 'مسؤول النظام' },

  'login.title': { en: 'Sign in', ar: 'تسجيل الدخول' },
  'login.hq_url': { en: 'HQ server address', ar: 'عنوان خادم المقر' },
  'login.username': { en: 'Username', ar: 'اسم المستخدم' },
  'login.password': { en: 'Password', ar: 'كلمة المرور' },
  'login.submit': { en: 'Sign in', ar: 'دخول' },
  'login.busy': { en: 'Signing in…', ar: 'جارٍ تسجيل الدخول…' },

  'loc.mantika': { en: 'Mantika (admin 1)', ar: 'المنطقة (المستوى الإداري 1)' },
  'loc.baladiya': { en: 'Baladiya (admin 2)', ar: 'البلدية (المستوى الإداري 2)' },
  'loc.pcode': { en: 'P-code', ar: 'الرمز المكاني' },

  'round.label': { en: 'Round', ar: 'الجولة' },
  'round.option': { en: '{code} · {title}', ar: '{code} · {title}' },
  'round.none': { en: 'No rounds are available.', ar: 'لا توجد جولات متاحة.' },
  'round.none_open': { en: 'No round is open for data collection.', ar: 'لا توجد جولة مفتوحة لجمع البيانات.' },
  'round.window': { en: 'Data collection {start} – {end}', ar: 'جمع البيانات {start} – {end}' },

  'status.not_started': { en: 'Not started', ar: 'لم يبدأ' },
  'status.draft': { en: 'Draft', ar: 'مسودة' },
  'status.submitted': { en: 'Submitted', ar: 'مُرسَل' },
  'status.returned': { en: 'Returned', ar: 'مُعاد' },
  'status.approved': { en: 'Approved', ar: 'معتمد' },
  'status.label': { en: 'Status', ar: 'الحالة' },

  'home.title': { en: 'Baladiyas in your scope', ar: 'البلديات ضمن نطاقك' },
  'home.empty': { en: 'No baladiyas in your scope for this round.', ar: 'لا توجد بلديات ضمن نطاقك في هذه الجولة.' },
  'home.pending': { en: '{count} not synced', ar: '{count} بانتظار المزامنة' },
  'home.conflicts': { en: '{count} conflicts', ar: '{count} تعارضات' },

  'form.saved': { en: 'Saved', ar: 'تم الحفظ' },
  'form.saving': { en: 'Saving…', ar: 'جارٍ الحفظ…' },
  'form.not_synced': { en: 'Not yet synced', ar: 'لم تتم مزامنته بعد' },
  'form.required': { en: 'required', ar: 'مطلوب' },
  'form.not_a_count': { en: 'Enter a whole number using the digits 0–9.', ar: 'أدخل عدداً صحيحاً بالأرقام 0–9.' },
  'form.not_a_number': { en: 'Enter a number.', ar: 'أدخل رقماً.' },
  'form.below_min': { en: 'Must be at least {min}.', ar: 'يجب ألا يقل عن {min}.' },
  'form.above_max': { en: 'Must be at most {max}.', ar: 'يجب ألا يزيد عن {max}.' },
  'form.submit': { en: 'Submit for review', ar: 'إرسال للمراجعة' },
  'form.submitting': { en: 'Submitting…', ar: 'جارٍ الإرسال…' },
  'form.blocked_errors': { en: 'Fix the errors before submitting.', ar: 'صحّح الأخطاء قبل الإرسال.' },
  'form.blocked_required': {
    en: 'Fill in every required field before submitting ({count} missing).',
    ar: 'املأ جميع الحقول المطلوبة قبل الإرسال (ناقص {count}).',
  },
  'form.read_only': { en: 'This assessment can no longer be edited ({status}).', ar: 'لم يعد هذا التقييم قابلاً للتعديل ({status}).' },
  'form.returned_title': { en: 'Returned by your supervisor', ar: 'أعاده المشرف إليك' },
  'form.submitted_ok': { en: 'Submitted. It reaches HQ at the next sync.', ar: 'تم الإرسال. سيصل إلى المقر عند المزامنة التالية.' },
  'form.conflicts': {
    en: '{count} fields were changed elsewhere at the same time; HQ will resolve them.',
    ar: 'تم تعديل {count} حقول في مكان آخر في الوقت نفسه؛ سيحلّها المقر.',
  },
  'form.other_issues': { en: 'Other checks', ar: 'عمليات تحقق أخرى' },

  'issue.error': { en: 'Error', ar: 'خطأ' },
  'issue.warning': { en: 'Warning', ar: 'تحذير' },

  'comments.title': { en: 'Comments', ar: 'التعليقات' },
  'comments.none': { en: 'No comments yet.', ar: 'لا توجد تعليقات بعد.' },
  'comments.by': { en: '{author} ({role}), {at}', ar: '{author} ({role})، {at}' },
  'comments.approve': { en: 'Approved', ar: 'اعتُمد' },
  'comments.return': { en: 'Returned', ar: 'أُعيد' },

  'sync.region': { en: 'Sync status', ar: 'حالة المزامنة' },
  'sync.online': { en: 'Online', ar: 'متصل' },
  'sync.offline': { en: 'Offline', ar: 'غير متصل' },
  'sync.syncing': { en: 'Syncing…', ar: 'جارٍ المزامنة…' },
  'sync.pending': { en: 'Pending: {count}', ar: 'قيد الانتظار: {count}' },
  'sync.rejected': { en: 'Rejected: {count}', ar: 'مرفوضة: {count}' },
  'sync.last': { en: 'Last sync: {at}', ar: 'آخر مزامنة: {at}' },
  'sync.never': { en: 'Not synced yet', ar: 'لم تتم المزامنة بعد' },
  'sync.now': { en: 'Sync now', ar: 'زامن الآن' },
  'sync.progress': { en: 'Synced {done} of {total}', ar: 'تمت مزامنة {done} من {total}' },
  'sync.last_error': { en: 'Last sync failed: {message}', ar: 'فشلت آخر مزامنة: {message}' },
  'sync.rejected_title': { en: 'Changes HQ rejected', ar: 'تغييرات رفضها المقر' },
  'sync.whole_assessment': { en: 'whole assessment', ar: 'التقييم كاملاً' },

  'dash.title': { en: 'Round completeness', ar: 'اكتمال الجولة' },
  'dash.total': { en: 'Total', ar: 'المجموع' },
  'dash.complete': { en: 'Complete', ar: 'مكتمل' },
  'dash.complete_hint': { en: 'submitted or approved, of all baladiyas', ar: 'المرسلة أو المعتمدة من مجموع البلديات' },
  'dash.filter': { en: 'Show', ar: 'عرض' },
  'dash.filter_all': { en: 'All statuses', ar: 'كل الحالات' },
  'dash.empty': { en: 'No baladiyas match this filter.', ar: 'لا توجد بلديات تطابق هذا التصفية.' },
  'dash.group_count': { en: '{done} of {total} complete', ar: '{done} من {total} مكتملة' },
  'dash.conflicts': { en: 'Open conflicts', ar: 'تعارضات مفتوحة' },
  'dash.version': { en: 'Version', ar: 'الإصدار' },
  'dash.enumerator_note': {
    en: 'Data entry happens in the DTM field app on your tablet. This dashboard is read-only for enumerators.',
    ar: 'يتم إدخال البيانات في التطبيق الميداني على جهازك اللوحي. هذه اللوحة للعرض فقط للعدّادين.',
  },

  'review.values': { en: 'Values', ar: 'القيم' },
  'review.no_value': { en: 'Not answered', ar: 'لا إجابة' },
  'review.checks': { en: 'Checks', ar: 'عمليات التحقق' },
  'review.no_issues': { en: 'All checks pass.', ar: 'اجتازت كل عمليات التحقق.' },
  'review.decision': { en: 'Review', ar: 'المراجعة' },
  'review.comment': { en: 'Comment', ar: 'تعليق' },
  'review.comment_hint': { en: 'Required when returning it to the enumerator.', ar: 'مطلوب عند إعادته إلى العدّاد.' },
  'review.approve': { en: 'Approve', ar: 'اعتماد' },
  'review.return': { en: 'Return to enumerator', ar: 'إعادة إلى العدّاد' },
  'review.done_approve': { en: 'Approved.', ar: 'تم الاعتماد.' },
  'review.done_return': { en: 'Returned to the enumerator.', ar: 'أُعيد إلى العدّاد.' },
  'review.not_reviewable': { en: 'Only submitted assessments can be reviewed.', ar: 'يمكن مراجعة التقييمات المرسلة فقط.' },

  'error.malformed_body': { en: 'The request was not understood.', ar: 'لم يُفهم الطلب.' },
  'error.body_too_large': { en: 'The request is too large.', ar: 'الطلب كبير جداً.' },
  'error.unknown_pcode': { en: 'This location code is not known.', ar: 'رمز الموقع هذا غير معروف.' },
  'error.negative_count': { en: 'Counts cannot be negative.', ar: 'لا يمكن أن تكون الأعداد سالبة.' },
  'error.bad_credentials': { en: 'Wrong username or password.', ar: 'اسم المستخدم أو كلمة المرور غير صحيحة.' },
  'error.unauthenticated': { en: 'Your session has ended. Please sign in again.', ar: 'انتهت جلستك. يرجى تسجيل الدخول مجدداً.' },
  'error.forbidden': { en: 'You are not allowed to do this.', ar: 'لا يُسمح لك بهذا الإجراء.' },
  'error.out_of_scope': { en: 'This location is outside your assigned area.', ar: 'هذا الموقع خارج نطاقك المحدد.' },
  'error.not_found': { en: 'Not found.', ar: 'غير موجود.' },
  'error.invalid_transition': { en: 'This action is not possible in the current status.', ar: 'هذا الإجراء غير ممكن في الحالة الحالية.' },
  'error.open_conflicts': { en: 'Resolve the open conflicts first.', ar: 'يجب حل التعارضات المفتوحة أولاً.' },
  'error.comment_required': { en: 'A comment is required to return an assessment.', ar: 'التعليق مطلوب لإعادة التقييم.' },
  'error.unsupported': { en: 'This is not available here.', ar: 'هذا غير متاح هنا.' },
  'error.network': { en: 'Cannot reach the server. Check the connection.', ar: 'تعذّر الوصول إلى الخادم. تحقق من الاتصال.' },
  'error.http_error': { en: 'The server answered with an error.', ar: 'ردّ الخادم بخطأ.' },
  'error.ipc': { en: 'The app could not complete this action.', ar: 'تعذّر على التطبيق إتمام هذا الإجراء.' },
  'error.unknown': { en: 'Something went wrong.', ar: 'حدث خطأ ما.' },
} satisfies Record<string, Entry>;

export type MessageKey = keyof typeof messages;
export type Params = Record<string, string | number>;

const numberLocale: Record<Locale, string> = { en: 'en-GB', ar: 'ar-LY' };

function initialLocale(): Locale {
  const stored = globalThis.localStorage?.getItem(LOCALE_KEY);
  return stored === 'ar' || stored === 'en' ? stored : 'en';
}

let current: Locale = initialLocale();
const listeners = new Set<(l: Locale) => void>();
let notifyEffects = () => {};
const track = createSubscriber((update) => {
  notifyEffects = update;
  return () => {
    notifyEffects = () => {};
  };
});

function applyToDocument(l: Locale) {
  if (typeof document === 'undefined') return;
  document.documentElement.lang = l;
  document.documentElement.dir = l === 'ar' ? 'rtl' : 'ltr';
}
applyToDocument(current);

/** The chosen locale: readable reactively as `locale.current`, or as a Svelte store. */
export const locale = {
  get current(): Locale {
    track();
    return current;
  },
  set(l: Locale) {
    if (l === current) return;
    current = l;
    globalThis.localStorage?.setItem(LOCALE_KEY, l);
    applyToDocument(l);
    notifyEffects();
    for (const fn of listeners) fn(l);
  },
  toggle() {
    locale.set(current === 'en' ? 'ar' : 'en');
  },
  subscribe(fn: (l: Locale) => void): () => void {
    fn(current);
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

export function hasMessage(key: string): key is MessageKey {
  return Object.hasOwn(messages, key);
}

/** Pure lookup and interpolation; numbers in params are formatted for the locale. */
export function translate(l: Locale, key: MessageKey, params?: Params): string {
  const template = messages[key][l];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => {
    const v = params[name];
    if (v === undefined) return m;
    return typeof v === 'number' ? formatNumber(v, l) : v;
  });
}

export function t(key: MessageKey, params?: Params): string {
  return translate(locale.current, key, params);
}

/** The locale's half of a bilingual text from a form definition or rule issue. */
export function tr(text: Text): string {
  return text[locale.current];
}

export function locationName(loc: { name_en: string; name_ar: string }): string {
  return locale.current === 'ar' ? loc.name_ar : loc.name_en;
}

export function formatNumber(n: number, l: Locale = locale.current): string {
  return new Intl.NumberFormat(numberLocale[l]).format(n);
}

export function formatPercent(ratio: number, l: Locale = locale.current): string {
  return new Intl.NumberFormat(numberLocale[l], { style: 'percent', maximumFractionDigits: 0 }).format(ratio);
}

export function formatDateTime(iso: string, l: Locale = locale.current): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(numberLocale[l], { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function formatDate(iso: string, l: Locale = locale.current): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(numberLocale[l], { dateStyle: 'medium' }).format(d);
}
