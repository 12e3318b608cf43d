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

  'loc.region': { en: 'Region', ar: 'الإقليم' },
  'loc.mantika': { en: 'Mantika (admin 1)', ar: 'المنطقة (المستوى الإداري 1)' },
  'loc.baladiya': { en: 'Baladiya (admin 2)', ar: 'البلدية (المستوى الإداري 2)' },
  'loc.muhalla': { en: 'Muhalla (admin 3)', ar: 'المحلة (المستوى الإداري 3)' },
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
  'status.voided': { en: 'Voided', ar: 'ملغى' },
  'status.label': { en: 'Status', ar: 'الحالة' },

  'home.title': { en: 'Baladiyas in your scope', ar: 'البلديات ضمن نطاقك' },
  'home.empty': { en: 'No assessments in your scope for this round.', ar: 'لا توجد تقييمات ضمن نطاقك في هذه الجولة.' },
  'home.muhallas': { en: 'Muhallas: {count} · {done} complete', ar: 'المحلات: {count} · {done} مكتملة' },
  'home.orphan': { en: 'Muhallas of baladiya {pcode}', ar: 'محلات البلدية {pcode}' },
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
  'form.void': { en: 'Void this assessment…', ar: 'إلغاء هذا التقييم…' },
  'form.void_reason': { en: 'Why is it void?', ar: 'لماذا يُلغى؟' },
  'form.void_help': {
    en: 'Use this for an assessment entered by mistake. Nothing is deleted; a supervisor can bring it back.',
    ar: 'استخدم هذا لتقييم أُدخل عن طريق الخطأ. لا يُحذف شيء؛ ويمكن للمشرف استعادته.',
  },
  'form.void_confirm': { en: 'Void it', ar: 'إلغاء التقييم' },
  'form.void_cancel': { en: 'Keep it', ar: 'الإبقاء عليه' },
  'form.voided_ok': { en: 'Voided. Its values are kept.', ar: 'تم الإلغاء. القيم محفوظة.' },
  'form.submitting': { en: 'Submitting…', ar: 'جارٍ الإرسال…' },
  'form.blockers_title': { en: 'Submit is not possible yet:', ar: 'لا يمكن الإرسال بعد:' },
  'form.blocker_error': { en: 'Error: {message}', ar: 'خطأ: {message}' },
  'form.blocker_missing': { en: 'Required, still empty: {field}', ar: 'حقل مطلوب فارغ: {field}' },
  'form.blocker_unjustified': { en: 'Warning without a justification: {message}', ar: 'تحذير بلا تبرير: {message}' },
  'form.blocker_invalid': { en: 'Value not valid: {field}', ar: 'قيمة غير صالحة: {field}' },
  'form.sections': { en: 'Sections', ar: 'الأقسام' },
  'form.previous': { en: '{round}: {value}', ar: '{round}: {value}' },
  'form.previous_long': { en: 'Previous round {round}: {value}', ar: 'الجولة السابقة {round}: {value}' },
  'form.choose': { en: '— Choose —', ar: '— اختر —' },
  'form.clear': { en: 'Clear answer', ar: 'مسح الإجابة' },
  'form.pcode_hint': { en: 'P-code of the {level}, for example {example}', ar: 'الرمز المكاني لـ{level}، مثلاً {example}' },
  'form.note_label': { en: 'Justification for this warning', ar: 'تبرير هذا التحذير' },
  'form.note_hint': {
    en: 'Explain why the value is right. Without a justification the assessment cannot be submitted.',
    ar: 'اشرح لماذا القيمة صحيحة. لا يمكن إرسال التقييم دون تبرير.',
  },
  'form.justified': { en: 'Justified', ar: 'مبرَّر' },
  'form.not_justified': { en: 'Needs a justification', ar: 'يحتاج إلى تبرير' },
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
  'sync.conflicts': { en: 'In conflict: {count}', ar: 'في تعارض: {count}' },
  'sync.superseded': { en: 'Superseded: {count}', ar: 'حلّت محلها قيم أحدث: {count}' },
  'sync.last': { en: 'Last sync: {at}', ar: 'آخر مزامنة: {at}' },
  'sync.never': { en: 'Not synced yet', ar: 'لم تتم المزامنة بعد' },
  'sync.now': { en: 'Sync now', ar: 'زامن الآن' },
  'sync.progress': { en: 'Synced {done} of {total}', ar: 'تمت مزامنة {done} من {total}' },
  'sync.last_error': { en: 'Last sync failed: {message}', ar: 'فشلت آخر مزامنة: {message}' },
  'sync.rejected_title': { en: 'Changes HQ did not apply', ar: 'تغييرات لم يطبّقها المقر' },
  'sync.state.applied': { en: 'Applied at HQ', ar: 'طُبِّق في المقر' },
  'sync.state.rejected': { en: 'Refused by HQ: correct it', ar: 'رفضه المقر: يرجى تصحيحه' },
  'sync.state.conflict': {
    en: 'In conflict with another device: a supervisor will settle it',
    ar: 'في تعارض مع جهاز آخر: سيحسمه المشرف',
  },
  'sync.state.superseded': {
    en: 'Not applied: this device had already sent newer values',
    ar: 'لم يُطبَّق: سبق أن أرسل هذا الجهاز قيماً أحدث',
  },
  'sync.whole_assessment': { en: 'whole assessment', ar: 'التقييم كاملاً' },
  'sync.sent_title': { en: 'Sent to HQ', ar: 'ما أُرسل إلى المقر' },
  'sync.sent_empty': { en: 'Nothing has been sent yet.', ar: 'لم يُرسل شيء بعد.' },
  'sync.sent_hint': {
    en: 'The latest changes this device sent and what HQ answered; the code matches HQ\'s records.',
    ar: 'آخر التغييرات التي أرسلها هذا الجهاز وما ردّ به المقر؛ يطابق الرمز سجلات المقر.',
  },
  'sync.kind.edit': { en: 'Edit', ar: 'تعديل' },
  'sync.kind.submit': { en: 'Submission', ar: 'تقديم' },
  'sync.kind.void': { en: 'Void', ar: 'إلغاء' },

  'dash.title': { en: 'Round completeness', ar: 'اكتمال الجولة' },
  'dash.total': { en: 'Total', ar: 'المجموع' },
  'dash.complete': { en: 'Complete', ar: 'مكتمل' },
  'dash.complete_hint': { en: 'submitted or approved, of all locations of this form', ar: 'المرسلة أو المعتمدة من مجموع مواقع هذه الاستمارة' },
  'dash.filter': { en: 'Show', ar: 'عرض' },
  'dash.filter_all': { en: 'All statuses', ar: 'كل الحالات' },
  'dash.empty': { en: 'No locations match this filter.', ar: 'لا توجد مواقع تطابق هذه التصفية.' },
  'dash.group_count': { en: '{done} of {total} complete', ar: '{done} من {total} مكتملة' },
  'dash.conflicts': { en: 'Open conflicts', ar: 'تعارضات مفتوحة' },
  'dash.version': { en: 'Version', ar: 'الإصدار' },
  'dash.form': { en: 'Form', ar: 'الاستمارة' },
  'dash.tab_completeness': { en: 'Completeness', ar: 'الاكتمال' },
  'dash.tab_rounds': { en: 'Rounds', ar: 'الجولات' },
  'dash.tab_conflicts': { en: 'Conflicts', ar: 'التعارضات' },
  'dash.tab_totals': { en: 'Totals', ar: 'المجاميع' },
  'dash.views': { en: 'Dashboard views', ar: 'عروض اللوحة' },
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
  'review.note': { en: 'Justification: {note}', ar: 'التبرير: {note}' },
  'review.no_note': { en: 'No justification given.', ar: 'لم يُقدَّم تبرير.' },

  'review.conflicts_banner': {
    en: 'Open conflicts (a field changed on two devices at once): {count}. Settle them before approving.',
    ar: 'تعارضات مفتوحة (حقل عُدِّل على جهازين في الوقت نفسه): {count}. يجب حلّها قبل الاعتماد.',
  },
  'review.conflicts_link': { en: 'Open the conflicts', ar: 'فتح التعارضات' },
  'review.approve_blocked': {
    en: 'Approve is not possible while conflicts are open.',
    ar: 'لا يمكن الاعتماد ما دامت هناك تعارضات مفتوحة.',
  },

  'conflicts.title': { en: 'Conflicts', ar: 'التعارضات' },
  'conflicts.intro': {
    en: 'Two devices changed the same field from the same value. The current value stays until you decide; the incoming value is kept.',
    ar: 'غيّر جهازان الحقل نفسه انطلاقاً من القيمة نفسها. تبقى القيمة الحالية حتى تقرر؛ والقيمة الواردة محفوظة.',
  },
  'conflicts.none': { en: 'No conflicts in this round.', ar: 'لا توجد تعارضات في هذه الجولة.' },
  'conflicts.counts': { en: '{open} open · {resolved} resolved', ar: '{open} مفتوحة · {resolved} محلولة' },
  'conflicts.only_location': { en: 'Showing only {name} ({pcode}).', ar: 'يُعرض فقط {name} ({pcode}).' },
  'conflicts.show_all': { en: 'Show all', ar: 'عرض الكل' },
  'conflicts.field': { en: 'Field', ar: 'الحقل' },
  'conflicts.base': { en: 'Both started from', ar: 'القيمة التي انطلق منها الاثنان' },
  'conflicts.current': { en: 'Current value (in place)', ar: 'القيمة الحالية (المعتمدة الآن)' },
  'conflicts.incoming': { en: 'Incoming value', ar: 'القيمة الواردة' },
  'conflicts.later': { en: 'written later', ar: 'كُتبت لاحقاً' },
  'conflicts.author': { en: 'By', ar: 'بواسطة' },
  'conflicts.device': { en: 'Device', ar: 'الجهاز' },
  'conflicts.when': { en: 'Written', ar: 'وقت الكتابة' },
  'conflicts.empty_value': { en: 'Empty', ar: 'فارغ' },
  'conflicts.status_open': { en: 'Open', ar: 'مفتوح' },
  'conflicts.status_resolved': { en: 'Resolved', ar: 'محلول' },
  'conflicts.decision': { en: 'Decision', ar: 'القرار' },
  'conflicts.keep': { en: 'Keep current', ar: 'إبقاء الحالية' },
  'conflicts.take': { en: 'Take incoming', ar: 'أخذ الواردة' },
  'conflicts.other': { en: 'Enter another value', ar: 'إدخال قيمة أخرى' },
  'conflicts.other_value': { en: 'Correct value', ar: 'القيمة الصحيحة' },
  'conflicts.reason': { en: 'Reason', ar: 'السبب' },
  'conflicts.reason_hint': {
    en: 'Required. Kept with the decision, for the record.',
    ar: 'مطلوب. يُحفظ مع القرار للتوثيق.',
  },
  'conflicts.resolve': { en: 'Resolve', ar: 'حلّ التعارض' },
  'conflicts.resolving': { en: 'Resolving…', ar: 'جارٍ الحل…' },
  'conflicts.resolved_ok': {
    en: 'Resolved. Devices receive the value at their next sync.',
    ar: 'تم الحل. ستصل القيمة إلى الأجهزة عند مزامنتها التالية.',
  },
  'conflicts.resolution': { en: 'Settled value: {value}', ar: 'القيمة المعتمدة: {value}' },
  'conflicts.resolution_by': { en: 'by {by}, {at}', ar: 'بواسطة {by}، {at}' },
  'conflicts.resolution_reason': { en: 'Reason: {reason}', ar: 'السبب: {reason}' },
  'conflicts.problem_choice': {
    en: 'Choose: keep current, take incoming, or enter another value.',
    ar: 'اختر: إبقاء الحالية، أو أخذ الواردة، أو إدخال قيمة أخرى.',
  },
  'conflicts.problem_reason': { en: 'Write the reason for this decision.', ar: 'اكتب سبب هذا القرار.' },
  'conflicts.problem_value': { en: 'Enter the correct value.', ar: 'أدخل القيمة الصحيحة.' },

  'totals.title': { en: 'Round totals', ar: 'مجاميع الجولة' },
  'totals.level': { en: 'Sum per', ar: 'المجموع حسب' },
  'totals.intro': {
    en: 'Sums of the approved counts in your scope. Each baladiya counts once, from its muhallas where they were assessed.',
    ar: 'مجاميع الأعداد المعتمدة ضمن نطاقك. تُحسب كل بلدية مرة واحدة، من محلاتها حيث قُيّمت.',
  },
  'totals.include_unapproved': {
    en: 'Include assessments not yet approved',
    ar: 'تضمين التقييمات غير المعتمدة بعد',
  },
  'totals.unapproved': {
    en: 'These totals include {n} assessments not yet approved (drafts, submitted or returned).',
    ar: 'تتضمن هذه المجاميع {n} من التقييمات غير المعتمدة بعد (مسودات أو مقدَّمة أو معادة).',
  },
  'totals.differences': { en: 'Baladiya and muhalla figures disagree', ar: 'أرقام البلدية والمحلات غير متطابقة' },
  'totals.difference': {
    en: '{baladiya} — {field}: the baladiya reports {own}; its {n} muhallas add up to {sum}, which the total counts.',
    ar: '{baladiya} — {field}: تُفيد البلدية بـ {own}؛ ومجموع محلاتها الـ {n} هو {sum}، وهو ما يُحتسب في المجموع.',
  },
  'totals.empty': { en: 'No counts recorded in this round yet.', ar: 'لم تُسجَّل أعداد في هذه الجولة بعد.' },
  'totals.all': { en: 'All', ar: 'الكل' },
  'totals.export': { en: 'Export HXL CSV', ar: 'تصدير CSV بوسوم HXL' },
  'totals.exporting': { en: 'Preparing the file…', ar: 'جارٍ تجهيز الملف…' },
  'totals.export_hint': {
    en: 'Every baladiya and muhalla of the round in your scope; the second row holds the HXL hashtags.',
    ar: 'كل البلديات والمحلات في الجولة ضمن نطاقك؛ الصف الثاني يحوي وسوم HXL.',
  },

  'round_status.planned': { en: 'Planned', ar: 'مخطط لها' },
  'round_status.open': { en: 'Open', ar: 'مفتوحة' },
  'round_status.closed': { en: 'Closed', ar: 'مغلقة' },
  'round_status.published': { en: 'Published', ar: 'منشورة' },

  'rounds.title': { en: 'Rounds', ar: 'الجولات' },
  'rounds.none': { en: 'No rounds yet.', ar: 'لا توجد جولات بعد.' },
  'rounds.code': { en: 'Code', ar: 'الرمز' },
  'rounds.number': { en: 'Number', ar: 'الرقم' },
  'rounds.name': { en: 'Title', ar: 'العنوان' },
  'rounds.window': { en: 'Collection window', ar: 'فترة جمع البيانات' },
  'rounds.window_start': { en: 'Collection starts', ar: 'بداية جمع البيانات' },
  'rounds.window_end': { en: 'Collection ends', ar: 'نهاية جمع البيانات' },
  'rounds.forms': { en: 'Forms', ar: 'الاستمارات' },
  'rounds.form_version': { en: '{form} v{version}', ar: '{form} الإصدار {version}' },
  'rounds.status': { en: 'Status', ar: 'الحالة' },
  'rounds.actions': { en: 'Change status', ar: 'تغيير الحالة' },
  'rounds.to_open': { en: 'Open', ar: 'فتح' },
  'rounds.to_reopen': { en: 'Reopen', ar: 'إعادة الفتح' },
  'rounds.to_closed': { en: 'Close', ar: 'إغلاق' },
  'rounds.to_published': { en: 'Publish', ar: 'نشر' },
  'rounds.frozen': { en: 'Published rounds are frozen.', ar: 'الجولات المنشورة مجمّدة.' },
  'rounds.status_changed': { en: 'Round {code} is now: {status}.', ar: 'الجولة {code} الآن: {status}.' },
  'rounds.create': { en: 'New round', ar: 'جولة جديدة' },
  'rounds.create_submit': { en: 'Create round', ar: 'إنشاء الجولة' },
  'rounds.creating': { en: 'Creating…', ar: 'جارٍ الإنشاء…' },
  'rounds.created': { en: 'Round {code} created (planned).', ar: 'تم إنشاء الجولة {code} (مخطط لها).' },
  'rounds.form_id': { en: 'Form', ar: 'الاستمارة' },
  'rounds.version': { en: 'Version', ar: 'الإصدار' },
  'rounds.add_form': { en: 'Add a form', ar: 'إضافة استمارة' },
  'rounds.remove_form': { en: 'Remove form {form}', ar: 'إزالة الاستمارة {form}' },
  'rounds.problem_code': { en: 'The code is R followed by digits, for example R2.', ar: 'الرمز هو R يليه أرقام، مثلاً R2.' },
  'rounds.problem_number': { en: 'The number is a whole number from 1.', ar: 'الرقم عدد صحيح يبدأ من 1.' },
  'rounds.problem_title': { en: 'Enter a title.', ar: 'أدخل عنواناً.' },
  'rounds.problem_window': { en: 'Enter both dates; the end cannot be before the start.', ar: 'أدخل التاريخين؛ لا يمكن أن تسبق النهاية البداية.' },
  'rounds.problem_forms': { en: 'List at least one form, each with a version from 1.', ar: 'أدرج استمارة واحدة على الأقل، لكل منها إصدار من 1.' },
  'rounds.import': { en: 'Import a past round', ar: 'استيراد جولة سابقة' },
  'rounds.import_hint': {
    en: 'A CSV or Excel (.xlsx) file with one row per assessment. A file with any problem is refused as a whole.',
    ar: 'ملف CSV أو Excel ‏(.xlsx) بصف لكل تقييم. يُرفض الملف كاملاً إذا كان فيه أي خطأ.',
  },
  'rounds.import_round': { en: 'Into round', ar: 'إلى الجولة' },
  'rounds.import_file': { en: 'File', ar: 'الملف' },
  'rounds.import_submit': { en: 'Import', ar: 'استيراد' },
  'rounds.importing': { en: 'Importing…', ar: 'جارٍ الاستيراد…' },
  'rounds.import_ok': { en: 'Imported {rows} rows into {assessments} assessments.', ar: 'تم استيراد {rows} صفاً في {assessments} تقييماً.' },
  'rounds.import_totals': { en: 'Totals imported', ar: 'المجاميع المستوردة' },
  'rounds.import_field': { en: 'Field', ar: 'الحقل' },
  'rounds.import_total': { en: 'Total', ar: 'المجموع' },
  'rounds.import_rejected': {
    en: 'The file was refused ({count} problems); nothing was imported.',
    ar: 'رُفض الملف ({count} مشكلات)؛ لم يُستورد شيء.',
  },
  'rounds.import_row': { en: 'Row', ar: 'الصف' },
  'rounds.import_column': { en: 'Column', ar: 'العمود' },
  'rounds.import_problem': { en: 'Problem', ar: 'المشكلة' },

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
  'error.import_rejected': { en: 'The import file was refused.', ar: 'رُفض ملف الاستيراد.' },
  'error.reason_required': { en: 'A reason is required to settle a conflict.', ar: 'السبب مطلوب لحلّ التعارض.' },
  'error.already_resolved': {
    en: 'Someone already settled this conflict. The list has been refreshed.',
    ar: 'حلّ شخص آخر هذا التعارض بالفعل. تم تحديث القائمة.',
  },
  'error.not_an_option': { en: 'That is not one of the field\'s options.', ar: 'هذه ليست من خيارات الحقل.' },
  'error.not_a_whole_number': { en: 'Enter a whole number.', ar: 'أدخل عدداً صحيحاً.' },
  'error.not_a_number': { en: 'Enter a number.', ar: 'أدخل رقماً.' },
  'error.out_of_range': { en: 'The value is outside the allowed range.', ar: 'القيمة خارج النطاق المسموح.' },
  'error.not_text': { en: 'Enter text for this field.', ar: 'أدخل نصاً لهذا الحقل.' },
  'error.not_a_date': { en: 'Enter a date.', ar: 'أدخل تاريخاً.' },
  'error.unknown_field': { en: 'This field is not in the form.', ar: 'هذا الحقل غير موجود في الاستمارة.' },
  'error.unknown_form': { en: 'This form is not known.', ar: 'هذه الاستمارة غير معروفة.' },
  'error.malformed_query': { en: 'The request was not understood.', ar: 'لم يُفهم الطلب.' },
  'error.malformed_request': { en: 'The request was not understood.', ar: 'لم يُفهم الطلب.' },
  'error.method_not_allowed': { en: 'The request was not understood.', ar: 'لم يُفهم الطلب.' },
  'error.own_entry': {
    en: 'You entered figures of this assessment; another supervisor or admin must approve it.',
    ar: 'لقد أدخلت أرقاماً في هذا التقييم؛ يجب أن يعتمده مشرف أو مسؤول آخر.',
  },
  'error.base_ahead': {
    en: 'HQ refused this change: it refers to a version HQ never sent. Enter it again.',
    ar: 'رفض المقر هذا التغيير: فهو يشير إلى نسخة لم يرسلها المقر. أدخله مجدداً.',
  },
  'error.op_id_reused': {
    en: 'HQ had already received this change with other values; these were not applied.',
    ar: 'استلم المقر هذا التغيير سابقاً بقيم أخرى؛ لم تُطبَّق هذه القيم.',
  },
  'error.unreadable_file': { en: 'The file cannot be read as CSV or XLSX.', ar: 'تعذّرت قراءة الملف بصيغة CSV أو XLSX.' },
  'error.rate_limited': {
    en: 'Too many sign-in attempts. Wait a moment and try again.',
    ar: 'محاولات تسجيل دخول كثيرة جداً. انتظر قليلاً ثم حاول مجدداً.',
  },
  'error.account_locked': {
    en: 'This account is locked after repeated failed sign-ins. Try again later or ask an admin to unlock it.',
    ar: 'هذا الحساب مقفل بعد محاولات دخول فاشلة متكررة. حاول لاحقاً أو اطلب من المسؤول فتحه.',
  },
  'error.text_too_long': { en: 'The text is too long.', ar: 'النص طويل جداً.' },
  'error.client_header_missing': { en: 'The request was not understood.', ar: 'لم يُفهم الطلب.' },
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

/** DTM's label for a COD admin level: 2 mantika (admin 1), 3 baladiya (admin 2), 4 muhalla (admin 3). */
export function levelKey(level: number): MessageKey {
  return level <= 2 ? 'loc.mantika' : level === 3 ? 'loc.baladiya' : 'loc.muhalla';
}

/** An example P-code at a COD level, for placeholders. */
export function pcodeExample(level: number): string {
  return level <= 2 ? 'LY0322' : level === 3 ? 'LY032201' : 'LY03220101';
}
