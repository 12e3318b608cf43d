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

  'grid.open': { en: 'Type the muhallas as a table', ar: 'إدخال المحلات في جدول' },
  'grid.title': { en: 'Muhallas of {name}', ar: 'محلات {name}' },
  'grid.open_baladiyas': { en: 'Type the baladiyas as a table', ar: 'إدخال البلديات في جدول' },
  'grid.title_baladiyas': { en: 'Baladiyas of {name}', ar: 'بلديات {name}' },
  'grid.title_all_baladiyas': { en: 'Baladiyas', ar: 'البلديات' },
  'grid.baladiya': { en: 'Baladiya', ar: 'البلدية' },
  'grid.intro': {
    en: 'Each cell saves when you leave it. {enter} goes down, {tab} across; paste a block copied from a spreadsheet into any cell.',
    ar: 'تُحفظ كل خانة عند مغادرتها. {enter} للأسفل و{tab} للخانة التالية؛ الصق في أي خانة كتلة منسوخة من جدول بيانات.',
  },
  'grid.back': { en: 'Back to the list', ar: 'العودة إلى القائمة' },
  'grid.muhalla': { en: 'Muhalla', ar: 'المحلة' },
  'grid.checks': { en: 'Checks', ar: 'التحققات' },
  'grid.open_form': { en: 'Full form', ar: 'الاستمارة كاملة' },
  'grid.not_asked': { en: 'Not asked', ar: 'غير مطلوب' },
  'grid.not_a_choice': { en: 'Type one of: {choices}', ar: 'اكتب أحد الخيارات: {choices}' },
  'grid.saving': { en: 'Saving…', ar: 'جارٍ الحفظ…' },
  'grid.pasted': { en: 'Pasted; each row is saved.', ar: 'لُصقت؛ وحُفظ كل صف.' },
  'grid.no_grid': { en: 'This form has no table entry; use the full form.', ar: 'لا يتيح هذا النموذج الإدخال في جدول؛ استخدم الاستمارة كاملة.' },
  'login.hq_url': { en: 'HQ server address', ar: 'عنوان خادم المقر' },
  'login.username': { en: 'Username', ar: 'اسم المستخدم' },
  'login.password': { en: 'Password', ar: 'كلمة المرور' },
  'login.submit': { en: 'Sign in', ar: 'دخول' },
  'login.busy': { en: 'Signing in…', ar: 'جارٍ تسجيل الدخول…' },
  'login.locked': {
    en: 'The data on this device is encrypted. Your password opens it, with no connection needed.',
    ar: 'البيانات على هذا الجهاز مشفّرة. تفتحها كلمة مرورك دون حاجة إلى اتصال.',
  },
  'login.locked_for': { en: 'Accounts that can open it here: {accounts}', ar: 'الحسابات التي يمكنها فتحها هنا: {accounts}' },
  'login.wait': {
    en: 'Too many wrong passwords in a row. Try again in {seconds} s.',
    ar: 'كلمات مرور خاطئة كثيرة متتالية. حاول مجدداً بعد {seconds} ث.',
  },

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
  'home.search': { en: 'Find a location', ar: 'ابحث عن موقع' },
  'home.search_hint': {
    en: 'Name in English or Arabic, P-code, or the name of its baladiya or mantika',
    ar: 'الاسم بالعربية أو الإنجليزية، أو الرمز المكاني، أو اسم البلدية أو المنطقة التابع لها',
  },
  'home.search_clear': { en: 'Clear the search', ar: 'مسح البحث' },
  'home.filter_status': { en: 'Status', ar: 'الحالة' },
  'home.filter_all': { en: 'All', ar: 'الكل' },
  'home.filter_option': { en: '{status} ({count})', ar: '{status} ({count})' },
  'home.no_match': {
    en: 'No location matches. Try fewer letters, the Arabic name, or the P-code.',
    ar: 'لا يوجد موقع مطابق. جرّب أحرفاً أقل، أو الاسم بالإنجليزية، أو الرمز المكاني.',
  },
  'home.parent': { en: 'in {name}', ar: 'في {name}' },
  'home.empty': { en: 'No assessments in your scope for this round.', ar: 'لا توجد تقييمات ضمن نطاقك في هذه الجولة.' },
  'home.muhallas': { en: 'Muhallas: {count} · {done} complete', ar: 'المحلات: {count} · {done} مكتملة' },
  'home.orphan': { en: 'Muhallas of baladiya {pcode}', ar: 'محلات البلدية {pcode}' },

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
    en: 'Only for an assessment entered by mistake. Its values and your reason are kept and reach HQ, but a voided assessment cannot be edited or submitted again, on this device or at HQ.',
    ar: 'فقط لتقييم أُدخل عن طريق الخطأ. تُحفظ قيمه وسببك وتصل إلى المقر، لكن لا يمكن تعديل التقييم الملغى أو إرساله مجدداً، لا على هذا الجهاز ولا في المقر.',
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
  'form.add_row': { en: 'Add a row: {what}', ar: 'إضافة صف: {what}' },
  'form.justified': { en: 'Justified', ar: 'مبرَّر' },
  'form.not_justified': { en: 'Needs a justification', ar: 'يحتاج إلى تبرير' },
  'form.read_only': { en: 'This assessment can no longer be edited ({status}).', ar: 'لم يعد هذا التقييم قابلاً للتعديل ({status}).' },
  'form.returned_title': { en: 'Returned by your supervisor', ar: 'أعاده المشرف إليك' },
  'form.submitted_ok': { en: 'Submitted. It reaches HQ at the next sync.', ar: 'تم الإرسال. سيصل إلى المقر عند المزامنة التالية.' },
  'form.field_conflict': {
    en: '{field}: also changed on another device. HQ keeps both values until a supervisor settles it; the value shown is the one HQ holds now.',
    ar: '{field}: عُدِّل أيضاً على جهاز آخر. يحتفظ المقر بالقيمتين حتى يحسمه مشرف؛ القيمة المعروضة هي التي يحتفظ بها المقر الآن.',
  },
  'form.settled': {
    en: 'HQ settled the conflict on {field}: the value is now {now}.',
    ar: 'حسم المقر التعارض على {field}: القيمة الآن {now}.',
  },
  'form.settled_void_kept': {
    en: 'Your change to {field} arrived after this assessment was voided. HQ kept it voided.',
    ar: 'وصل تعديلك على {field} بعد إلغاء هذا التقييم. أبقاه المقر ملغى.',
  },
  'form.settled_void_restored': {
    en: 'Your change to {field} arrived after this assessment was voided. HQ brought the assessment back as a draft: the value is now {now}.',
    ar: 'وصل تعديلك على {field} بعد إلغاء هذا التقييم. أعاد المقر التقييم مسودة: القيمة الآن {now}.',
  },
  'form.settled_yours': {
    en: 'This device had sent {yours}.',
    ar: 'كان هذا الجهاز قد أرسل {yours}.',
  },
  'form.settled_kept_yours': {
    en: 'That is the value this device sent.',
    ar: 'وهي القيمة التي أرسلها هذا الجهاز.',
  },
  'form.settled_by': {
    en: 'Settled by {by} on {at}: “{reason}”',
    ar: 'حسمه {by} في {at}: «{reason}»',
  },
  'form.settled_ok': { en: 'Understood', ar: 'فهمت' },
  'form.other_issues': { en: 'Other checks', ar: 'عمليات تحقق أخرى' },

  'issue.error': { en: 'Error', ar: 'خطأ' },
  'rule.sum_numbers': { en: '{sum}, not {total}', ar: '{sum}، وليس {total}' },
  'rule.compare_numbers': { en: 'Entered: {numbers}', ar: 'المُدخل: {numbers}' },
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
  'sync.problem_access': { en: 'Sync stopped', ar: 'توقفت المزامنة' },
  'sync.problem_attention': { en: 'Last sync did not finish', ar: 'لم تكتمل آخر مزامنة' },
  'sync.rejected': { en: 'Rejected: {count}', ar: 'مرفوضة: {count}' },
  'sync.conflicts': { en: 'In conflict: {count}', ar: 'في تعارض: {count}' },
  'sync.superseded': { en: 'Superseded: {count}', ar: 'حلّت محلها قيم أحدث: {count}' },
  'sync.last': { en: 'Last sync: {at}', ar: 'آخر مزامنة: {at}' },
  'sync.never': { en: 'Not synced yet', ar: 'لم تتم المزامنة بعد' },
  'sync.now': { en: 'Sync now', ar: 'زامن الآن' },
  'sync.progress': { en: 'Synced {done} of {total}', ar: 'تمت مزامنة {done} من {total}' },
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
  'dash.tab_map': { en: 'Map', ar: 'الخريطة' },
  'dash.tab_trends': { en: 'Trends', ar: 'الاتجاهات' },
  'dash.tab_key': { en: 'Key figures', ar: 'الأرقام الرئيسية' },
  'trends.title': { en: 'Across rounds', ar: 'عبر الجولات' },
  'trends.intro': {
    en: 'Approved figures per round, imported past rounds included. A round without a figure for the place leaves a gap.',
    ar: 'الأرقام المعتمدة لكل جولة، بما فيها الجولات السابقة المستوردة. الجولة التي لا رقم فيها للمكان تترك فجوة.',
  },
  'trends.place': { en: 'Place', ar: 'المكان' },
  'trends.scope': { en: 'All of your scope', ar: 'كامل نطاقك' },
  'trends.round': { en: 'Round', ar: 'الجولة' },
  'trends.caption': { en: 'IDPs, returnees and migrants per round: {place}', ar: 'النازحون والعائدون والمهاجرون لكل جولة: {place}' },

  'map.title': { en: 'Round on the map', ar: 'الجولة على الخريطة' },
  'map.intro': {
    en: 'Approved figures in your scope per mantika; the dots are baladiyas, larger where this round has figures. Choose a mantika for its baladiyas.',
    ar: 'الأرقام المعتمدة ضمن نطاقك حسب المنطقة؛ النقاط هي البلديات، وتكبر حيث توجد أرقام لهذه الجولة. اختر منطقة لعرض بلدياتها.',
  },
  'map.figure': { en: 'Figure', ar: 'الرقم' },
  'map.idps': { en: 'IDPs (individuals)', ar: 'النازحون (أفراد)' },
  'map.returnees': { en: 'Returnees (individuals)', ar: 'العائدون (أفراد)' },
  'map.migrants': { en: 'Migrants (individuals)', ar: 'المهاجرون (أفراد)' },
  'map.show': { en: 'Show', ar: 'العرض' },
  'map.mode_count': { en: 'Count', ar: 'العدد' },
  'map.mode_change': { en: 'Change since {round}', ar: 'التغيّر منذ {round}' },
  'map.mode_change_none': { en: 'Change (no earlier round)', ar: 'التغيّر (لا توجد جولة سابقة)' },
  'map.legend_change': { en: '{figure}: change since {round}', ar: '{figure}: التغيّر منذ {round}' },
  'map.aria': { en: 'Map of Libya by mantika: {figure}', ar: 'خريطة ليبيا حسب المنطقة: {figure}' },
  'map.below': { en: 'below {n}', ar: 'أقل من {n}' },
  'map.from': { en: '{n} or more', ar: '{n} أو أكثر' },
  'map.between': { en: '{from} to {to}', ar: 'من {from} إلى {to}' },
  'map.no_data': { en: 'no approved figure', ar: 'لا يوجد رقم معتمد' },
  'map.baladiya_point': { en: 'baladiya', ar: 'بلدية' },
  'map.attribution': {
    en: 'Boundaries approximate: © OpenStreetMap contributors, geoBoundaries (ODbL); points: IOM DTM Libya.',
    ar: 'الحدود تقريبية: © مساهمو OpenStreetMap وgeoBoundaries (ODbL)؛ النقاط: المصفوفة لتتبع النزوح، المنظمة الدولية للهجرة، ليبيا.',
  },
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
  'review.shortcut': { en: 'Keyboard: {key}', ar: 'لوحة المفاتيح: {key}' },
  'review.decided_approve': {
    en: '{place} approved. This is the next submission waiting.',
    ar: 'تم اعتماد {place}. هذا هو التقديم التالي المنتظر.',
  },
  'review.decided_return': {
    en: '{place} returned to the enumerator. This is the next submission waiting.',
    ar: 'أُعيد {place} إلى العدّاد. هذا هو التقديم التالي المنتظر.',
  },
  'dash.search': { en: 'Find a place (English or Arabic)', ar: 'ابحث عن مكان (بالعربية أو الإنجليزية)' },
  'dash.mantika_filter': { en: 'Mantika', ar: 'المنطقة' },
  'dash.all_mantikas': { en: 'All mantikas', ar: 'كل المناطق' },
  'dash.warnings': { en: 'Warnings', ar: 'التحذيرات' },
  'dash.bulk_approve': { en: 'Approve clean submissions…', ar: 'اعتماد التقديمات السليمة…' },
  'dash.bulk_none': {
    en: 'No submission is clean (without warnings, errors or open conflicts) in this list.',
    ar: 'لا يوجد تقديم سليم (بلا تحذيرات أو أخطاء أو تعارضات مفتوحة) في هذه القائمة.',
  },
  'dash.bulk_confirm': {
    en: 'Approve {n} submissions that have no warnings, no rule errors and no open conflicts? Each is approved as if you opened it and chose Approve; the audit log records each one.',
    ar: 'اعتماد {n} من التقديمات التي لا تحذيرات فيها ولا أخطاء ولا تعارضات مفتوحة؟ يُعتمد كل منها كما لو فتحته واخترت «اعتماد»؛ ويسجّل سجل التدقيق كل واحد منها.',
  },
  'dash.bulk_go': { en: 'Approve {n}', ar: 'اعتماد {n}' },
  'dash.bulk_done': { en: 'Approved {done} of {n}.', ar: 'تم اعتماد {done} من {n}.' },
  'dash.bulk_failed': {
    en: '{place} was not approved: {reason}',
    ar: 'لم يُعتمد {place}: {reason}',
  },
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
  'conflicts.previous': { en: 'In {round}', ar: 'في {round}' },
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
  'totals.compared_with': {
    en: 'Under each figure: the change since {round}, counted the same way.',
    ar: 'تحت كل رقم: التغيّر منذ {round}، محسوبًا بالطريقة نفسها.',
  },
  'totals.change_up': { en: '▲ {n} ({pct})', ar: '▲ {n} ({pct})' },
  'totals.change_down': { en: '▼ {n} ({pct})', ar: '▼ {n} ({pct})' },
  'totals.change_up_from_zero': { en: '▲ {n} (from 0)', ar: '▲ {n} (من 0)' },
  'totals.change_none': { en: 'no change', ar: 'بلا تغيير' },
  'totals.change_label': {
    en: '{previous} in {round}; change {change}',
    ar: '{previous} في {round}؛ التغيّر {change}',
  },
  'totals.largest_changes': { en: 'Largest changes since {round}', ar: 'أكبر التغيّرات منذ {round}' },
  'totals.largest_change': {
    en: '{location} — {field}: {previous} → {current}',
    ar: '{location} — {field}: {previous} ← {current}',
  },
  'totals.export': { en: 'Export', ar: 'تصدير' },
  'totals.export_format': { en: 'Format', ar: 'الصيغة' },
  'totals.export_csv': { en: 'HXL CSV (every field)', ar: 'CSV بوسوم HXL (كل الحقول)' },
  'totals.export_xlsx': { en: 'XLSX with English and Arabic labels', ar: 'XLSX بعناوين إنجليزية وعربية' },
  'totals.export_json': { en: 'JSON, one object per assessment', ar: 'JSON، كائن لكل تقييم' },
  'totals.export_dtm': { en: "DTM Libya's published workbook", ar: 'مصنف مصفوفة تتبع النزوح المنشور' },
  'totals.export_hint_dtm': {
    en: 'Approved data only, laid out as DTM Libya publishes a round on HDX; nothing about key informants.',
    ar: 'البيانات المعتمدة فقط، بالتخطيط الذي تنشر به مصفوفة تتبع النزوح في ليبيا الجولة على HDX؛ دون أي تفاصيل عن مصادر المعلومات.',
  },
  'totals.exporting': { en: 'Preparing the file…', ar: 'جارٍ تجهيز الملف…' },
  'totals.export_hint': {
    en: 'Every field of every baladiya and muhalla of the round in your scope, tagged with HXL hashtags; nationalities as a sheet of their own in XLSX.',
    ar: 'كل حقول كل البلديات والمحلات في الجولة ضمن نطاقك، موسومة بوسوم HXL؛ والجنسيات في ورقة خاصة بها في XLSX.',
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
  'form_name.baladiya': { en: 'Baladiya form', ar: 'استمارة البلدية' },
  'form_name.muhalla': { en: 'Muhalla form', ar: 'استمارة المحلة' },
  'rounds.form_version': { en: '{form} v{version}', ar: '{form} الإصدار {version}' },
  'rounds.status': { en: 'Status', ar: 'الحالة' },
  'rounds.actions': { en: 'Change status', ar: 'تغيير الحالة' },
  'rounds.to_open': { en: 'Open', ar: 'فتح' },
  'rounds.to_reopen': { en: 'Reopen', ar: 'إعادة الفتح' },
  'rounds.to_closed': { en: 'Close', ar: 'إغلاق' },
  'rounds.to_published': { en: 'Publish', ar: 'نشر' },
  'rounds.frozen': { en: 'Published rounds are frozen.', ar: 'الجولات المنشورة مجمّدة.' },
  'rounds.confirm_close_title': { en: 'Close round {code}?', ar: 'إغلاق الجولة {code}؟' },
  'rounds.confirm_close_text': {
    en: 'Devices can no longer send changes to this round. Supervisors can still review it, and an admin can reopen it.',
    ar: 'لن تتمكن الأجهزة بعد الآن من إرسال تغييرات لهذه الجولة. يظل بإمكان المشرفين مراجعتها، ويمكن لمسؤول النظام إعادة فتحها.',
  },
  'rounds.confirm_publish_title': { en: 'Publish round {code}?', ar: 'نشر الجولة {code}؟' },
  'rounds.confirm_publish_text': {
    en: 'Publishing freezes the round for good: nobody can change, review or reopen it afterwards. This cannot be undone.',
    ar: 'النشر يجمّد الجولة نهائياً: لا يمكن لأحد تعديلها أو مراجعتها أو إعادة فتحها بعد ذلك. لا يمكن التراجع عن ذلك.',
  },
  'rounds.status_changed': { en: 'Round {code} is now: {status}.', ar: 'الجولة {code} الآن: {status}.' },
  'rounds.create': { en: 'New round', ar: 'جولة جديدة' },
  'rounds.create_submit': { en: 'Create round', ar: 'إنشاء الجولة' },
  'rounds.creating': { en: 'Creating…', ar: 'جارٍ الإنشاء…' },
  'rounds.created': { en: 'Round {code} created (planned).', ar: 'تم إنشاء الجولة {code} (مخطط لها).' },
  'rounds.import_layout_dtm': {
    en: "Read as DTM Libya's published round workbook, through its column mapping.",
    ar: 'قُرئ على أنه مصنف الجولة المنشور لمصفوفة تتبع النزوح في ليبيا، عبر مطابقة أعمدته.',
  },
  'rounds.import_unknown_columns': {
    en: 'These columns are not part of the layout and were not imported:',
    ar: 'هذه الأعمدة ليست من تخطيط الملف ولم تُستورد:',
  },
  'rounds.name_ar': { en: 'Title in Arabic', ar: 'العنوان بالعربية' },
  'sync.update_required': { en: 'Update required', ar: 'التحديث مطلوب' },
  'sync.update_available': {
    en: 'Update available: version {version}. Install it when convenient; you can keep working and syncing.',
    ar: 'يتوفر تحديث: الإصدار {version}. ثبّته حين يناسبك؛ يمكنك متابعة العمل والمزامنة.',
  },
  'key.print': { en: 'Print or save as PDF', ar: 'طباعة أو حفظ بصيغة PDF' },
  'key.kicker': { en: 'IOM DTM Libya · key figures', ar: 'المنظمة الدولية للهجرة · مصفوفة تتبع النزوح في ليبيا · الأرقام الرئيسية' },
  'key.title': { en: 'Round {round}: key figures', ar: 'الجولة {round}: الأرقام الرئيسية' },
  'key.period': { en: 'data collected {start} to {end}', ar: 'جُمعت البيانات من {start} إلى {end}' },
  'key.assessed': { en: '{baladiyas} baladiyas and {muhallas} muhallas assessed', ar: 'قُيّمت {baladiyas} بلدية و{muhallas} محلة' },
  'key.compared': { en: 'changes since {round}', ar: 'التغيرات منذ {round}' },
  'key.hosting': { en: 'in {baladiyas} baladiyas and {muhallas} muhallas', ar: 'في {baladiyas} بلدية و{muhallas} محلة' },
  'key.not_collected': { en: 'not collected in this round', ar: 'لم تُجمع في هذه الجولة' },
  'key.sex_age': { en: 'Migrants by sex and age', ar: 'المهاجرون حسب الجنس والعمر' },
  'key.men': { en: 'Adult men', ar: 'رجال بالغون' },
  'key.women': { en: 'Adult women', ar: 'نساء بالغات' },
  'key.children': { en: 'Children', ar: 'أطفال' },
  'key.nationalities': { en: 'Top nationalities of migrants', ar: 'أكثر جنسيات المهاجرين' },
  'key.nationality': { en: 'Nationality', ar: 'الجنسية' },
  'key.change': { en: 'Change', ar: 'التغير' },
  'key.by_region': { en: 'By region', ar: 'حسب الإقليم' },
  'key.by_mantika': { en: 'By mantika', ar: 'حسب المنطقة' },
  'key.location': { en: 'Location', ar: 'الموقع' },
  'key.source': {
    en: 'Approved figures only. Source: IOM DTM Libya mobility tracking. Each baladiya is counted once, from the finest level collected.',
    ar: 'الأرقام المعتمدة فقط. المصدر: تتبع التنقل لمصفوفة تتبع النزوح في ليبيا. تُحسب كل بلدية مرة واحدة، من أدق مستوى جُمعت بياناته.',
  },
  'rounds.form_id': { en: 'Form', ar: 'الاستمارة' },
  'rounds.import_add_locations': {
    en: 'Add locations the gazetteer does not have yet (new muhallas), named as in the file',
    ar: 'إضافة المواقع غير الموجودة في الدليل الجغرافي (محلات جديدة) بأسمائها في الملف',
  },
  'rounds.import_added': { en: 'Locations added to the gazetteer:', ar: 'مواقع أضيفت إلى الدليل الجغرافي:' },
  'rounds.choose_form': { en: 'Choose a form', ar: 'اختر استمارة' },
  'rounds.form_option': { en: '{title}, version {version}', ar: '{title}، الإصدار {version}' },
  'rounds.older': { en: 'older version', ar: 'إصدار أقدم' },
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
  'rounds.import_row': { en: 'Row', ar: 'الصف' },
  'rounds.import_column': { en: 'Column', ar: 'العمود' },
  'rounds.import_problem': { en: 'Problem', ar: 'المشكلة' },

  'account.change_password': { en: 'Change password', ar: 'تغيير كلمة المرور' },
  'password.title_required': { en: 'Set your new password', ar: 'عيّن كلمة مرورك الجديدة' },
  'password.title': { en: 'Change your password', ar: 'تغيير كلمة المرور' },
  'password.required_intro': {
    en: 'You signed in with a one-time password. Choose your own password to continue.',
    ar: 'سجّلت الدخول بكلمة مرور لمرة واحدة. اختر كلمة مرورك الخاصة للمتابعة.',
  },
  'password.one_time': { en: 'One-time password', ar: 'كلمة المرور لمرة واحدة' },
  'password.current': { en: 'Current password', ar: 'كلمة المرور الحالية' },
  'password.new': { en: 'New password', ar: 'كلمة المرور الجديدة' },
  'password.repeat': { en: 'New password again', ar: 'كلمة المرور الجديدة مرة أخرى' },
  'password.hint': {
    en: 'At least 10 characters; long is strong: for example three unrelated words. HQ refuses common passwords.',
    ar: '10 أحرف على الأقل؛ الأطول أقوى: مثلاً ثلاث كلمات لا رابط بينها. يرفض المقر كلمات المرور الشائعة.',
  },
  'password.save': { en: 'Save the new password', ar: 'حفظ كلمة المرور الجديدة' },
  'password.saving': { en: 'Saving…', ar: 'جارٍ الحفظ…' },
  'password.changed': { en: 'Your password has been changed.', ar: 'تم تغيير كلمة المرور.' },
  'common.cancel': { en: 'Cancel', ar: 'إلغاء' },
  'common.done': { en: 'Done', ar: 'تم' },
  'common.close': { en: 'Close', ar: 'إغلاق' },

  'enrol.switch': { en: 'I have an enrolment code', ar: 'لديّ رمز تسجيل' },
  'enrol.back': { en: 'Sign in with a username and password', ar: 'الدخول باسم المستخدم وكلمة المرور' },
  'enrol.title': { en: 'Enrol with a code', ar: 'التسجيل برمز' },
  'enrol.intro': {
    en: 'Your supervisor or HQ gave you a code (or a QR code). Type it, then choose your password.',
    ar: 'أعطاك مشرفك أو المقر رمزاً (أو رمز QR). اكتبه ثم اختر كلمة مرورك.',
  },
  'enrol.code': { en: 'Enrolment code', ar: 'رمز التسجيل' },
  'enrol.submit': { en: 'Enrol and sign in', ar: 'التسجيل والدخول' },
  'enrol.busy': { en: 'Enrolling…', ar: 'جارٍ التسجيل…' },

  'dash.tab_people': { en: 'People', ar: 'الأشخاص' },
  'dash.tab_devices': { en: 'Devices', ar: 'الأجهزة' },
  'dash.tab_locations': { en: 'Locations', ar: 'المواقع' },
  'dash.tab_audit': { en: 'Audit log', ar: 'سجل التدقيق' },

  'people.title': { en: 'People', ar: 'الأشخاص' },
  'people.intro_supervisor': {
    en: 'The enumerators inside your scope.',
    ar: 'العدّادون الميدانيون ضمن نطاقك.',
  },
  'people.none': { en: 'No accounts to show.', ar: 'لا توجد حسابات لعرضها.' },
  'people.name': { en: 'Name', ar: 'الاسم' },
  'people.username': { en: 'Username', ar: 'اسم المستخدم' },
  'people.role': { en: 'Role', ar: 'الدور' },
  'people.scope': { en: 'Scope', ar: 'النطاق' },
  'people.language': { en: 'Language', ar: 'اللغة' },
  'people.status': { en: 'Status', ar: 'الحالة' },
  'people.devices': { en: 'Devices', ar: 'الأجهزة' },
  'people.actions': { en: 'Actions', ar: 'الإجراءات' },
  'people.status_active': { en: 'Active', ar: 'نشط' },
  'people.status_disabled': { en: 'Disabled', ar: 'معطّل' },
  'people.status_must_set': { en: 'Must set a password', ar: 'يجب تعيين كلمة مرور' },
  'people.lang_en': { en: 'English', ar: 'الإنجليزية' },
  'people.lang_ar': { en: 'Arabic', ar: 'العربية' },
  'people.edit': { en: 'Edit', ar: 'تعديل' },
  'people.disable': { en: 'Disable', ar: 'تعطيل' },
  'people.enable': { en: 'Enable', ar: 'تفعيل' },
  'people.reset': { en: 'Reset password', ar: 'إعادة تعيين كلمة المرور' },
  'people.enrol': { en: 'Enrolment code', ar: 'رمز تسجيل' },
  'people.create': { en: 'New account', ar: 'حساب جديد' },
  'people.create_submit': { en: 'Create account', ar: 'إنشاء الحساب' },
  'people.creating': { en: 'Creating…', ar: 'جارٍ الإنشاء…' },
  'people.created': {
    en: 'Account {username} created. Next: an enrolment code for a field device, or a password reset for the dashboard.',
    ar: 'تم إنشاء الحساب {username}. الخطوة التالية: رمز تسجيل لجهاز ميداني، أو إعادة تعيين كلمة المرور للوحة المقر.',
  },
  'people.username_hint': {
    en: '2–64 characters: a–z, 0–9, dot, underscore, hyphen.',
    ar: 'من 2 إلى 64 حرفاً: a–z و0–9 والنقطة والشرطة السفلية والشرطة.',
  },
  'people.edit_title': { en: 'Edit {name}', ar: 'تعديل {name}' },
  'people.save': { en: 'Save changes', ar: 'حفظ التغييرات' },
  'people.saved': { en: 'Changes to {username} saved.', ar: 'تم حفظ التغييرات على {username}.' },
  'people.disable_title': { en: 'Disable {name}?', ar: 'تعطيل {name}؟' },
  'people.disable_text': {
    en: 'Every session of this account ends at once; its devices can no longer sync. Data not yet sent stays on the device, and everything already at HQ is kept. You can enable the account again later.',
    ar: 'تنتهي كل جلسات هذا الحساب فوراً، ولن تتمكن أجهزته من المزامنة. تبقى البيانات غير المرسلة على الجهاز، ويُحتفظ بكل ما وصل إلى المقر. يمكنك تفعيل الحساب لاحقاً.',
  },
  'people.disable_confirm': { en: 'Disable the account', ar: 'تعطيل الحساب' },
  'people.disabled': { en: '{username} is disabled.', ar: 'تم تعطيل {username}.' },
  'people.enabled': { en: '{username} is active again.', ar: 'أصبح {username} نشطاً مجدداً.' },
  'people.reset_title': { en: 'One-time password for {name}', ar: 'كلمة مرور لمرة واحدة لـ {name}' },
  'people.reset_text': {
    en: 'Give it to the person privately. It is shown only this once; they must choose their own password when they sign in.',
    ar: 'سلّمها للشخص بشكل خاص. تُعرض هذه المرة فقط؛ وعليه اختيار كلمة مروره الخاصة عند تسجيل الدخول.',
  },
  'people.enrol_title': { en: 'Enrolment code for {name}', ar: 'رمز تسجيل لـ {name}' },
  'people.enrol_text': {
    en: 'Read the code aloud or let the device scan the QR code. On the device: "I have an enrolment code", then the person chooses a password. Passwords never travel in a code.',
    ar: 'اقرأ الرمز بصوت عالٍ أو دع الجهاز يمسح رمز QR. على الجهاز: «لديّ رمز تسجيل»، ثم يختار الشخص كلمة مرور. لا تنتقل كلمات المرور أبداً داخل رمز.',
  },
  'people.enrol_expires': { en: 'Valid until {at}, for one device.', ar: 'صالح حتى {at}، لجهاز واحد.' },
  'people.qr_alt': { en: 'QR code of the enrolment link', ar: 'رمز QR لرابط التسجيل' },
  'people.enrol_link': { en: 'Link', ar: 'الرابط' },

  'scope.search': { en: 'Find a location by name', ar: 'ابحث عن موقع بالاسم' },
  'scope.placeholder': { en: 'Name in English or Arabic', ar: 'الاسم بالعربية أو الإنجليزية' },
  'scope.none_found': { en: 'No location with that name.', ar: 'لا يوجد موقع بهذا الاسم.' },
  'scope.add': { en: 'Add {name}', ar: 'إضافة {name}' },
  'scope.remove': { en: 'Remove {name}', ar: 'إزالة {name}' },
  'scope.empty': { en: 'No location chosen yet.', ar: 'لم يُختر أي موقع بعد.' },
  'loc.country': { en: 'Country', ar: 'الدولة' },

  'places.title': { en: 'Locations', ar: 'المواقع' },
  'places.hint': {
    en: 'The gazetteer every device uses. A location added, renamed or retired here reaches the devices with their next sync.',
    ar: 'الدليل الجغرافي الذي تستخدمه كل الأجهزة. ما يضاف هنا أو يعاد تسميته أو يوقف يصل إلى الأجهزة عند مزامنتها التالية.',
  },
  'places.search': { en: 'Find a location (name in English or Arabic, or P-code)', ar: 'ابحث عن موقع (الاسم بالعربية أو الإنجليزية، أو الرمز)' },
  'places.within': { en: 'Under P-code', ar: 'تحت الرمز' },
  'places.level': { en: 'Level', ar: 'المستوى' },
  'places.any_level': { en: 'Any level', ar: 'أي مستوى' },
  'places.show_retired': { en: 'Show retired locations', ar: 'عرض المواقع الموقوفة' },
  'places.pcode': { en: 'P-code', ar: 'الرمز' },
  'places.open_under': { en: 'Show the locations under {name}', ar: 'عرض المواقع التابعة لـ {name}' },
  'places.name_en': { en: 'Name (English)', ar: 'الاسم (بالإنجليزية)' },
  'places.name_ar': { en: 'Name (Arabic)', ar: 'الاسم (بالعربية)' },
  'places.kind': { en: 'Class', ar: 'التصنيف' },
  'places.kind_none': { en: 'Not given', ar: 'غير محدد' },
  'places.kind_urban': { en: 'Urban', ar: 'حضري' },
  'places.kind_rural': { en: 'Rural', ar: 'ريفي' },
  'places.lat': { en: 'Latitude', ar: 'خط العرض' },
  'places.lon': { en: 'Longitude', ar: 'خط الطول' },
  'places.state': { en: 'Use', ar: 'الاستخدام' },
  'places.in_use': { en: 'In use', ar: 'مستخدم' },
  'places.retired': { en: 'Retired', ar: 'موقوف' },
  'places.shown': { en: 'Showing {shown} of {total}. Narrow the search to see the rest.', ar: 'يُعرض {shown} من {total}. ضيّق البحث لرؤية البقية.' },
  'places.none': { en: 'No location matches.', ar: 'لا يوجد موقع مطابق.' },
  'places.add': { en: 'Add a location', ar: 'إضافة موقع' },
  'places.add_hint': {
    en: 'A new muhalla (or one split from another) goes under its baladiya: type the parent P-code and the next free code is proposed.',
    ar: 'تضاف المحلة الجديدة (أو المنفصلة عن أخرى) تحت بلديتها: اكتب رمز الموقع الأعلى فيُقترح الرمز التالي المتاح.',
  },
  'places.parent': { en: 'Parent P-code', ar: 'رمز الموقع الأعلى' },
  'places.parent_is': { en: 'Under {name}', ar: 'تحت {name}' },
  'places.add_submit': { en: 'Add the location', ar: 'إضافة الموقع' },
  'places.added': { en: '{pcode} added. Devices receive it with their next sync.', ar: 'أضيف {pcode}. تستلمه الأجهزة عند مزامنتها التالية.' },
  'places.edit': { en: 'Rename', ar: 'إعادة تسمية' },
  'places.save': { en: 'Save the names', ar: 'حفظ الاسمين' },
  'places.saved': { en: '{pcode} changed. Devices receive it with their next sync.', ar: 'تغيّر {pcode}. تستلمه الأجهزة عند مزامنتها التالية.' },
  'places.retire': { en: 'Retire', ar: 'إيقاف' },
  'places.restore': { en: 'Bring back', ar: 'إعادة للاستخدام' },
  'places.retire_title': { en: 'Retire {name}?', ar: 'إيقاف {name}؟' },
  'places.retire_text': {
    en: 'It is no longer offered for new assessments. Its past assessments are kept, and work already done on a device is still accepted.',
    ar: 'لن يُعرض لتقييمات جديدة. تبقى تقييماته السابقة، ويُقبل العمل المنجز على الأجهزة.',
  },
  'places.retire_confirm': { en: 'Retire the location', ar: 'إيقاف الموقع' },

  'devices.title': { en: 'Devices', ar: 'الأجهزة' },
  'devices.none': { en: 'No devices yet.', ar: 'لا توجد أجهزة بعد.' },
  'devices.person': { en: 'Person', ar: 'الشخص' },
  'devices.name': { en: 'Device', ar: 'الجهاز' },
  'devices.id': { en: 'Device ID', ar: 'معرّف الجهاز' },
  'devices.app_version': { en: 'App version', ar: 'إصدار التطبيق' },
  'devices.first_seen': { en: 'First seen', ar: 'أول ظهور' },
  'devices.last_sync': { en: 'Last sync', ar: 'آخر مزامنة' },
  'devices.pending': { en: 'Unsent changes', ar: 'تغييرات غير مرسلة' },
  'devices.expires': { en: 'Session until', ar: 'الجلسة حتى' },
  'devices.state': { en: 'Access', ar: 'الصلاحية' },
  'devices.active': { en: 'Active', ar: 'نشط' },
  'devices.revoked_at': { en: 'Revoked {at}', ar: 'سُحبت {at}' },
  'devices.unknown': { en: '—', ar: '—' },
  'devices.never': { en: 'Never', ar: 'أبداً' },
  'devices.revoke': { en: 'Revoke', ar: 'سحب الصلاحية' },
  'devices.revoke_title': { en: 'Revoke this device of {name}?', ar: 'سحب صلاحية هذا الجهاز الخاص بـ {name}؟' },
  'devices.revoke_text': {
    en: 'The device can no longer sync or sign in with this session. Data not yet sent stays on the device. The person can enrol again with a new code.',
    ar: 'لن يتمكن الجهاز من المزامنة أو الدخول بهذه الجلسة. تبقى البيانات غير المرسلة على الجهاز. يمكن للشخص التسجيل مجدداً برمز جديد.',
  },
  'devices.revoke_wipe': {
    en: 'Also remove its data (a lost or stolen device): it first sends HQ everything it holds, then deletes it.',
    ar: 'احذف بياناته أيضاً (جهاز مفقود أو مسروق): يرسل أولاً كل ما عليه إلى المقر، ثم يحذفه.',
  },
  'devices.wipe_chip': { en: 'Data to be removed', ar: 'ستُحذف بياناته' },
  'devices.revoke_confirm': { en: 'Revoke the device', ar: 'سحب صلاحية الجهاز' },
  'devices.revoked': { en: 'Device revoked.', ar: 'تم سحب صلاحية الجهاز.' },
  'devices.hand_over': { en: 'Hand over', ar: 'تسليم' },
  'devices.hand_over_title': { en: 'Hand this device of {name} over to another account?', ar: 'تسليم هذا الجهاز الخاص بـ {name} إلى حساب آخر؟' },
  'devices.hand_over_text': {
    en: 'The data on the device is encrypted and opens only for the accounts that signed in on it. The account below may open it too at its next sign-in on the device, while HQ can be reached; its password then opens it offline. Work not yet sent stays on the device and is sent at that sign-in, as this account.',
    ar: 'البيانات على الجهاز مشفرة ولا تُفتح إلا للحسابات التي سجّلت الدخول عليه. سيتمكن الحساب أدناه من فتحها أيضاً عند أول تسجيل دخول له على الجهاز أثناء الاتصال بالمقر؛ ثم تفتحها كلمة مروره دون اتصال. يبقى العمل غير المرسل على الجهاز ويُرسل عند ذلك الدخول، باسم هذا الحساب.',
  },
  'devices.hand_over_to': { en: 'Username of the account that takes it', ar: 'اسم مستخدم الحساب الذي يستلمه' },
  'devices.hand_over_confirm': { en: 'Hand over the device', ar: 'تسليم الجهاز' },
  'devices.handed_over': { en: 'Handed over to {username}: they can sign in on the device now.', ar: 'تم التسليم إلى {username}: يمكنه تسجيل الدخول على الجهاز الآن.' },

  'audit.title': { en: 'Audit log', ar: 'سجل التدقيق' },
  'audit.person': { en: 'Person (username)', ar: 'الشخص (اسم المستخدم)' },
  'audit.action': { en: 'Action', ar: 'الإجراء' },
  'audit.any_action': { en: 'Any action', ar: 'أي إجراء' },
  'audit.from': { en: 'From', ar: 'من' },
  'audit.to': { en: 'To', ar: 'إلى' },
  'audit.apply': { en: 'Show', ar: 'عرض' },
  'audit.at': { en: 'When', ar: 'الوقت' },
  'audit.actor': { en: 'Who', ar: 'من قام' },
  'audit.target': { en: 'Details', ar: 'التفاصيل' },
  'audit.none': { en: 'No entries match.', ar: 'لا توجد سجلات مطابقة.' },
  'audit.more': { en: 'Load more', ar: 'تحميل المزيد' },
  'audit.csv': { en: 'Download CSV', ar: 'تنزيل CSV' },

  'audit_action.login': { en: 'Sign-in', ar: 'تسجيل دخول' },
  'audit_action.login_failed': { en: 'Failed sign-in', ar: 'تسجيل دخول فاشل' },
  'audit_action.unlock_user': { en: 'Account unlocked', ar: 'فتح قفل حساب' },
  'audit_action.create_enumerator': { en: 'Enumerator created', ar: 'إنشاء عدّاد ميداني' },
  'audit_action.create_supervisor': { en: 'Supervisor created', ar: 'إنشاء مشرف' },
  'audit_action.create_admin': { en: 'Administrator created', ar: 'إنشاء مسؤول نظام' },
  'audit_action.change_user': { en: 'Account changed', ar: 'تعديل حساب' },
  'audit_action.disable_user': { en: 'Account disabled', ar: 'تعطيل حساب' },
  'audit_action.enable_user': { en: 'Account enabled', ar: 'تفعيل حساب' },
  'audit_action.reset_password': { en: 'Password reset', ar: 'إعادة تعيين كلمة المرور' },
  'audit_action.change_password': { en: 'Password changed', ar: 'تغيير كلمة المرور' },
  'audit_action.issue_enrolment': { en: 'Enrolment code issued', ar: 'إصدار رمز تسجيل' },
  'audit_action.enrol_device': { en: 'Device enrolled', ar: 'تسجيل جهاز' },
  'audit_action.revoke_device': { en: 'Device revoked', ar: 'سحب صلاحية جهاز' },
  'audit_action.revoke_wipe_device': { en: 'Device revoked, its data to be removed', ar: 'سحب صلاحية جهاز وحذف بياناته' },
  'audit_action.hand_over_device': { en: 'Device handed over to another account', ar: 'تسليم جهاز إلى حساب آخر' },
  'audit_action.store_key_made': { en: 'Key to a device\'s data kept at HQ', ar: 'حفظ مفتاح بيانات جهاز في المقر' },
  'audit_action.review_approve': { en: 'Assessment approved', ar: 'اعتماد تقييم' },
  'audit_action.review_return': { en: 'Assessment returned', ar: 'إعادة تقييم' },
  'audit_action.settle_conflict': { en: 'Conflict settled', ar: 'حلّ تعارض' },
  'audit_action.create_round': { en: 'Round created', ar: 'إنشاء جولة' },
  'audit_action.round_open': { en: 'Round opened', ar: 'فتح جولة' },
  'audit_action.round_closed': { en: 'Round closed', ar: 'إغلاق جولة' },
  'audit_action.round_published': { en: 'Round published', ar: 'نشر جولة' },
  'audit_action.import_round': { en: 'Round imported', ar: 'استيراد جولة' },
  'audit_action.export_hxl_csv': { en: 'HXL CSV exported', ar: 'تصدير CSV بوسوم HXL' },
  'audit_action.export_xlsx': { en: 'XLSX exported', ar: 'تصدير ملف XLSX' },
  'audit_action.export_json': { en: 'JSON exported', ar: 'تصدير ملف JSON' },
  'audit_action.publish_dtm_workbook': { en: 'Published workbook written', ar: 'إعداد مصنف النشر' },
  'audit_action.read_key_figures': { en: 'Key figures read', ar: 'الاطلاع على الأرقام الرئيسية' },
  'audit_action.export_audit_csv': { en: 'Audit log exported', ar: 'تصدير سجل التدقيق' },
  'audit_action.read_totals': { en: 'Totals read', ar: 'الاطلاع على المجاميع' },
  'audit_action.list_assessments': { en: 'Assessments listed', ar: 'عرض قائمة التقييمات' },
  'audit_action.read_assessment': { en: 'Assessment read', ar: 'الاطلاع على تقييم' },
  'audit_action.location_add': { en: 'Location added', ar: 'إضافة موقع' },
  'audit_action.location_change': { en: 'Location changed', ar: 'تعديل موقع' },
  'audit_action.location_retire': { en: 'Location retired', ar: 'إيقاف موقع' },
  'audit_action.location_restore': { en: 'Location brought back', ar: 'إعادة موقع للاستخدام' },

  'error.malformed_body': { en: 'The request was not understood.', ar: 'لم يُفهم الطلب.' },
  'error.body_too_large': { en: 'The request is too large.', ar: 'الطلب كبير جداً.' },
  'error.unknown_pcode': { en: 'This location code is not known.', ar: 'رمز الموقع هذا غير معروف.' },
  'error.negative_count': { en: 'Counts cannot be negative.', ar: 'لا يمكن أن تكون الأعداد سالبة.' },
  'error.bad_credentials': { en: 'Wrong username or password.', ar: 'اسم المستخدم أو كلمة المرور غير صحيحة.' },
  'error.internal': {
    en: 'HQ ran into a problem of its own. Nothing you sent is lost; try again later.',
    ar: 'واجه المقر مشكلة من جهته. لم يضع شيء مما أرسلته؛ حاول مرة أخرى لاحقاً.',
  },
  'error.protocol_missing': {
    en: 'This app did not say which sync protocol it speaks; update the app. Your data stays on the device.',
    ar: 'لم يذكر هذا التطبيق بروتوكول المزامنة الذي يستخدمه؛ حدّث التطبيق. تبقى بياناتك على الجهاز.',
  },
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
  'error.account_disabled': {
    en: 'HQ has disabled this account, so this device can no longer sync. Changes not yet sent stay on this device. Ask your supervisor.',
    ar: 'عطّل المقر هذا الحساب، فلم يعد بإمكان هذا الجهاز المزامنة. تبقى التغييرات غير المرسلة على هذا الجهاز. راجع مشرفك.',
  },
  'error.device_wipe': {
    en: 'HQ has withdrawn this device. Everything it held has been sent to HQ, and its data has been removed from it.',
    ar: 'سحب المقر هذا الجهاز. أُرسل كل ما كان عليه إلى المقر، وحُذفت بياناته منه.',
  },
  'error.device_revoked': {
    en: 'HQ has withdrawn this device\'s access, so it can no longer sync. Changes not yet sent stay on this device. Ask your supervisor for a new enrolment code.',
    ar: 'سحب المقر صلاحية هذا الجهاز، فلم يعد بإمكانه المزامنة. تبقى التغييرات غير المرسلة على هذا الجهاز. اطلب من مشرفك رمز تسجيل جديداً.',
  },
  'error.password_change_required': {
    en: 'Set your new password before you continue.',
    ar: 'عيّن كلمة مرورك الجديدة قبل المتابعة.',
  },
  'error.enrolment_invalid': {
    en: 'This enrolment code is not known. Check each letter, or ask for a new code.',
    ar: 'رمز التسجيل هذا غير معروف. تحقق من كل حرف، أو اطلب رمزاً جديداً.',
  },
  'error.enrolment_used': {
    en: 'This enrolment code has already been used. Ask for a new one.',
    ar: 'استُخدم رمز التسجيل هذا من قبل. اطلب رمزاً جديداً.',
  },
  'error.enrolment_expired': {
    en: 'This enrolment code has expired. Ask for a new one.',
    ar: 'انتهت صلاحية رمز التسجيل هذا. اطلب رمزاً جديداً.',
  },
  'error.weak_password': {
    en: 'This password is too short or too easy to guess. Use at least 10 characters, for example three unrelated words.',
    ar: 'كلمة المرور هذه قصيرة أو سهلة التخمين. استخدم 10 أحرف على الأقل، مثلاً ثلاث كلمات لا رابط بينها.',
  },
  'error.bad_username': {
    en: 'A username is 2 to 64 characters: lowercase letters a–z, digits, dot, underscore or hyphen.',
    ar: 'اسم المستخدم من 2 إلى 64 حرفاً: أحرف لاتينية صغيرة a–z أو أرقام أو نقطة أو شرطة سفلية أو شرطة.',
  },
  'error.bad_display_name': { en: 'Enter the person\'s full name.', ar: 'أدخل الاسم الكامل للشخص.' },
  'error.user_exists': { en: 'An account with this username already exists.', ar: 'يوجد حساب بهذا الاسم من قبل.' },
  'error.empty_scope': { en: 'Choose at least one location for the scope.', ar: 'اختر موقعاً واحداً على الأقل للنطاق.' },
  'error.unknown_location': { en: 'This location is not in the gazetteer.', ar: 'هذا الموقع غير موجود في الدليل الجغرافي.' },
  'error.location_exists': { en: 'The gazetteer already has a location with this P-code.', ar: 'يوجد في الدليل الجغرافي موقع بهذا الرمز.' },
  'error.unknown_parent': {
    en: 'There is no location above this P-code in the gazetteer; add the parent first.',
    ar: 'لا يوجد في الدليل الجغرافي موقع أعلى من هذا الرمز؛ أضف الموقع الأعلى أولاً.',
  },
  'error.parent_retired': {
    en: 'The location above it is retired; nothing is added or brought back under it.',
    ar: 'الموقع الأعلى موقوف؛ لا يضاف تحته شيء ولا يعاد.',
  },
  'error.children_in_use': {
    en: 'Locations under it are still in use; retire them first.',
    ar: 'ما زالت مواقع تحته مستخدمة؛ أوقفها أولاً.',
  },
  'error.bad_location_name': {
    en: 'Give the name in English and in Arabic (with Arabic letters), up to 200 characters each.',
    ar: 'أدخل الاسم بالإنجليزية وبالعربية (بحروف عربية)، حتى 200 حرف لكل منهما.',
  },
  'error.bad_location_kind': { en: 'The class of a location is Urban or Rural.', ar: 'تصنيف الموقع حضري أو ريفي.' },
  'error.bad_coordinates': {
    en: 'Give latitude and longitude together, in decimal degrees (for example 32.88 and 13.19).',
    ar: 'أدخل خط العرض وخط الطول معاً بالدرجات العشرية (مثل 32.88 و13.19).',
  },
  'error.nothing_changed': { en: 'Nothing would change.', ar: 'لن يتغير شيء.' },
  'error.last_admin': {
    en: 'This is the last active administrator; HQ needs at least one.',
    ar: 'هذا آخر مسؤول نظام نشط؛ يحتاج المقر إلى مسؤول واحد على الأقل.',
  },
  'error.own_account': {
    en: 'You cannot demote, disable, reset or enrol your own account; change your own password with your current one.',
    ar: 'لا يمكنك خفض صلاحية حسابك أو تعطيله أو إعادة تعيين كلمة مروره أو إصدار رمز تسجيل له بنفسك؛ غيّر كلمة مرورك باستخدام كلمة المرور الحالية.',
  },
  'error.wrong_password': { en: 'The current password is wrong.', ar: 'كلمة المرور الحالية غير صحيحة.' },
  'error.same_password': {
    en: 'The new password must differ from the current one.',
    ar: 'يجب أن تختلف كلمة المرور الجديدة عن الحالية.',
  },
  'error.bad_hours': { en: 'A code lasts from 1 hour to 30 days.', ar: 'يصلح الرمز من ساعة واحدة إلى 30 يوماً.' },
  'error.bad_date': { en: 'Enter dates as year-month-day.', ar: 'أدخل التواريخ بصيغة سنة-شهر-يوم.' },
  'error.update_required': {
    en: 'This app is too old for HQ. Install the update, then sync again; nothing entered is lost.',
    ar: 'هذا الإصدار من التطبيق أقدم مما يقبله المقر. ثبّت التحديث ثم زامن مجدداً؛ لن يضيع شيء مما أدخلته.',
  },
  'error.hq_too_old': {
    en: 'HQ runs an older version than this app. Tell HQ; your data stays on this device.',
    ar: 'يعمل المقر بإصدار أقدم من هذا التطبيق. أبلغ المقر؛ تبقى بياناتك على هذا الجهاز.',
  },
  'error.hq_unavailable': {
    en: 'HQ is not answering right now. Your data stays on this device; try again later.',
    ar: 'المقر لا يستجيب حالياً. تبقى بياناتك على هذا الجهاز؛ حاول لاحقاً.',
  },
  'error.protocol_error': {
    en: 'HQ answered something this app does not understand.',
    ar: 'أرسل المقر رداً لا يفهمه هذا التطبيق.',
  },
  'error.round_published': {
    en: 'This round is published and can no longer change.',
    ar: 'هذه الجولة منشورة ولا يمكن تغييرها بعد الآن.',
  },
  'error.round_exists': { en: 'A round with this code already exists.', ar: 'توجد جولة بهذا الرمز من قبل.' },
  'error.round_not_importable': {
    en: 'Figures cannot be imported into this round in its current status.',
    ar: 'لا يمكن استيراد أرقام إلى هذه الجولة في حالتها الحالية.',
  },
  'error.unknown_round': { en: 'This round is not known.', ar: 'هذه الجولة غير معروفة.' },
  'error.round_not_open': { en: 'This round is not open for data collection.', ar: 'هذه الجولة غير مفتوحة لجمع البيانات.' },
  'error.bad_request': {
    en: 'HQ could not use this request.',
    ar: 'تعذّر على المقر استخدام هذا الطلب.',
  },
  'error.missing_column': {
    en: 'A column the import needs is missing.',
    ar: 'عمود يحتاجه الاستيراد غير موجود.',
  },
  'error.missing_tag_row': {
    en: 'Row 2 must hold the HXL hashtags of the columns.',
    ar: 'يجب أن يحمل الصف 2 وسوم HXL للأعمدة.',
  },
  'error.duplicate_row': {
    en: 'This location already appears on an earlier row.',
    ar: 'هذا الموقع موجود في صف سابق.',
  },
  'error.missing_row': {
    en: 'These rows (for example nationalities) are for a location that has no row of its own in the file.',
    ar: 'هذه الصفوف (مثل الجنسيات) لموقع ليس له صف خاص به في الملف.',
  },
  'error.inconsistent_pcode': {
    en: 'The P-codes on this row do not belong together (the muhalla is not in the baladiya).',
    ar: 'الرموز المكانية في هذا الصف غير متطابقة (المحلة ليست ضمن البلدية).',
  },
  'error.wrong_round': {
    en: 'This row is for another round.',
    ar: 'هذا الصف يخص جولة أخرى.',
  },
  'error.rule_error': {
    en: 'This row breaks one of the form’s checks, so nothing was imported.',
    ar: 'هذا الصف يخالف أحد فحوص الاستمارة، لذلك لم يُستورد أي شيء.',
  },
  'error.rule_warning': {
    en: 'This row breaks a warning check; it was imported and should be looked at.',
    ar: 'هذا الصف يخالف فحصًا تحذيريًا؛ تم استيراده وينبغي مراجعته.',
  },
  'error.no_open_round': {
    en: 'There is no open round on this device. Sync first.',
    ar: 'لا توجد جولة مفتوحة على هذا الجهاز. قم بالمزامنة أولًا.',
  },
  'error.malformed_value': {
    en: 'Write each value as FIELD=VALUE.',
    ar: 'اكتب كل قيمة على شكل FIELD=VALUE.',
  },
  'error.partly_superseded': {
    en: 'Some of these values were replaced by newer ones from this device; the rest were saved.',
    ar: 'استُبدلت بعض هذه القيم بقيم أحدث من هذا الجهاز؛ وحُفظ الباقي.',
  },
  'error.already_exists': {
    en: 'HQ already holds an assessment for this location in this round; nothing was imported.',
    ar: 'لدى المقر تقييم لهذا الموقع في هذه الجولة؛ لم يُستورد أي شيء.',
  },
  'error.wrong_level': {
    en: 'This location is not at the level this form is for.',
    ar: 'هذا الموقع ليس في المستوى الإداري المخصص لهذه الاستمارة.',
  },
  'error.submission_blocked': {
    en: 'This assessment cannot be submitted yet: fix the errors shown first.',
    ar: 'لا يمكن تقديم هذا التقييم بعد: صحّح الأخطاء المعروضة أولاً.',
  },
  'error.malformed_cursor': { en: 'The request was not understood.', ar: 'لم يُفهم الطلب.' },
  'error.malformed_op': { en: 'The request was not understood.', ar: 'لم يُفهم الطلب.' },
  'error.malformed_round': { en: 'The request was not understood.', ar: 'لم يُفهم الطلب.' },
  'error.unsupported_media_type': { en: 'This kind of file is not accepted.', ar: 'هذا النوع من الملفات غير مقبول.' },
  'error.uri_too_long': { en: 'The request is too large.', ar: 'الطلب كبير جداً.' },
  'error.not_logged_in': { en: 'Please sign in.', ar: 'يرجى تسجيل الدخول.' },
  'error.store_locked': {
    en: 'This account has not opened the data on this device yet. Sign in once while HQ can be reached, or as the account that used this device before.',
    ar: 'لم يفتح هذا الحساب البيانات على هذا الجهاز بعد. سجّل الدخول مرة واحدة أثناء الاتصال بالمقر، أو بالحساب الذي استخدم هذا الجهاز من قبل.',
  },
  'error.no_store_key': {
    en: 'This device holds no encrypted data yet: any account may sign in on it as it is.',
    ar: 'لا يحمل هذا الجهاز بيانات مشفرة بعد: يمكن لأي حساب تسجيل الدخول عليه كما هو.',
  },
  'error.key_file_damaged': {
    en: 'The key to the data on this device cannot be read. Nothing has been deleted; ask your supervisor before doing anything else.',
    ar: 'لا يمكن قراءة مفتاح البيانات على هذا الجهاز. لم يُحذف شيء؛ اسأل مشرفك قبل القيام بأي شيء آخر.',
  },
  'error.offline': {
    en: 'Offline: HQ cannot be reached from here. Your work is saved on this device.',
    ar: 'غير متصل: لا يمكن الوصول إلى المقر من هنا. عملك محفوظ على هذا الجهاز.',
  },
  'error.conflict': {
    en: 'Another device changed this field at the same time; a supervisor will settle it.',
    ar: 'عدّل جهاز آخر هذا الحقل في الوقت نفسه؛ سيحسمه مشرف.',
  },
  'error.superseded': {
    en: 'This device had already sent newer values.',
    ar: 'سبق أن أرسل هذا الجهاز قيماً أحدث.',
  },
  'error.rejected': { en: 'HQ refused this change.', ar: 'رفض المقر هذا التغيير.' },
  'error.sync_running': { en: 'A sync is already running.', ar: 'المزامنة جارية بالفعل.' },
  'error.database_error': {
    en: 'The app could not read or write its data on this device.',
    ar: 'تعذّر على التطبيق قراءة بياناته أو كتابتها على هذا الجهاز.',
  },
  'error.database_too_new': {
    en: 'The data on this device was written by a newer version of the app. Install the update.',
    ar: 'البيانات على هذا الجهاز كتبها إصدار أحدث من التطبيق. ثبّت التحديث.',
  },
  'error.io_error': {
    en: 'The app could not read or write a file on this device.',
    ar: 'تعذّر على التطبيق قراءة ملف أو كتابته على هذا الجهاز.',
  },
  'error.password_mismatch': { en: 'The two new passwords are not the same.', ar: 'كلمتا المرور الجديدتان غير متطابقتين.' },
  'error.unsupported': { en: 'This is not available here.', ar: 'هذا غير متاح هنا.' },
  'error.network': { en: 'Cannot reach the server. Check the connection.', ar: 'تعذّر الوصول إلى الخادم. تحقق من الاتصال.' },
  'error.http_error': {
    en: 'Something between this device and HQ answered instead of HQ (a network login page or a proxy).',
    ar: 'ردّ شيء ما بين هذا الجهاز والمقر بدلاً من المقر (صفحة دخول إلى الشبكة أو خادم وسيط).',
  },
  'error.ipc': { en: 'The app could not complete this action.', ar: 'تعذّر على التطبيق إتمام هذا الإجراء.' },
  'error.unknown': { en: 'Something went wrong.', ar: 'حدث خطأ ما.' },
} satisfies Record<string, Entry>;

type PluralEntry = {
  en: { one: string; other: string };
  ar: { zero: string; one: string; two: string; few: string; many: string; other: string };
};

/**
 * Counted phrases, chosen by Intl.PluralRules: English one/other, Arabic zero, one, two,
 * few (3–10), many (11–99) and other (100+). Never "1 conflicts" or "error(s)".
 */
export const plurals = {
  'home.conflicts': {
    en: { one: '{count} conflict', other: '{count} conflicts' },
    ar: { zero: 'لا تعارضات', one: 'تعارض واحد', two: 'تعارضان', few: '{count} تعارضات', many: '{count} تعارضًا', other: '{count} تعارض' },
  },
  'home.pending': {
    en: { one: '{count} change not sent', other: '{count} changes not sent' },
    ar: {
      zero: 'لا تغييرات غير مرسلة',
      one: 'تغيير واحد لم يُرسل',
      two: 'تغييران لم يُرسلا',
      few: '{count} تغييرات لم تُرسل',
      many: '{count} تغييرًا لم يُرسل',
      other: '{count} تغيير لم يُرسل',
    },
  },
  // The sync bar's count: every form shows the number as digits (the smoke test reads it).
  'sync.waiting': {
    en: { one: '{count} change waiting to be sent', other: '{count} changes waiting to be sent' },
    ar: {
      zero: 'بانتظار الإرسال: {count}',
      one: 'بانتظار الإرسال: {count}',
      two: 'بانتظار الإرسال: {count}',
      few: 'بانتظار الإرسال: {count}',
      many: 'بانتظار الإرسال: {count}',
      other: 'بانتظار الإرسال: {count}',
    },
  },
  'sync.waiting_saved': {
    en: { one: '{count} change waiting, saved on this device', other: '{count} changes waiting, saved on this device' },
    ar: {
      zero: 'بانتظار الإرسال: {count}',
      one: 'بانتظار الإرسال: {count}، محفوظ على هذا الجهاز',
      two: 'بانتظار الإرسال: {count}، محفوظان على هذا الجهاز',
      few: 'بانتظار الإرسال: {count}، محفوظة على هذا الجهاز',
      many: 'بانتظار الإرسال: {count}، محفوظة على هذا الجهاز',
      other: 'بانتظار الإرسال: {count}، محفوظة على هذا الجهاز',
    },
  },
  'form.conflicts': {
    en: {
      one: 'One field was also changed on another device; a supervisor at HQ settles it. The value shown is the one HQ holds now.',
      other: '{count} fields were also changed on another device; a supervisor at HQ settles them. The values shown are the ones HQ holds now.',
    },
    ar: {
      zero: 'لا حقول في تعارض.',
      one: 'عُدِّل حقل واحد على جهاز آخر أيضاً؛ يحسمه مشرف في المقر. القيمة المعروضة هي التي يحتفظ بها المقر الآن.',
      two: 'عُدِّل حقلان على جهاز آخر أيضاً؛ يحسمهما مشرف في المقر. القيمتان المعروضتان هما اللتان يحتفظ بهما المقر الآن.',
      few: 'عُدِّلت {count} حقول على جهاز آخر أيضاً؛ يحسمها مشرف في المقر. القيم المعروضة هي التي يحتفظ بها المقر الآن.',
      many: 'عُدِّل {count} حقلًا على جهاز آخر أيضاً؛ يحسمها مشرف في المقر. القيم المعروضة هي التي يحتفظ بها المقر الآن.',
      other: 'عُدِّل {count} حقل على جهاز آخر أيضاً؛ يحسمها مشرف في المقر. القيم المعروضة هي التي يحتفظ بها المقر الآن.',
    },
  },
  'totals.unknown': {
    en: { one: '1 location said unknown', other: '{count} locations said unknown' },
    ar: {
      zero: 'لا موقع أجاب بغير معروف',
      one: 'موقع واحد أجاب بغير معروف',
      two: 'موقعان أجابا بغير معروف',
      few: '{count} مواقع أجابت بغير معروف',
      many: '{count} موقعاً أجاب بغير معروف',
      other: '{count} موقع أجاب بغير معروف',
    },
  },
  'rounds.import_warnings': {
    en: {
      one: '1 warning to look at; the rows were imported.',
      other: '{count} warnings to look at; the rows were imported.',
    },
    ar: {
      zero: 'لا تحذيرات.',
      one: 'تحذير واحد للمراجعة؛ تم استيراد الصفوف.',
      two: 'تحذيران للمراجعة؛ تم استيراد الصفوف.',
      few: '{count} تحذيرات للمراجعة؛ تم استيراد الصفوف.',
      many: '{count} تحذيرًا للمراجعة؛ تم استيراد الصفوف.',
      other: '{count} تحذير للمراجعة؛ تم استيراد الصفوف.',
    },
  },
  'rounds.import_rejected': {
    en: {
      one: 'The file was refused (1 problem); nothing was imported.',
      other: 'The file was refused ({count} problems); nothing was imported.',
    },
    ar: {
      zero: 'رُفض الملف؛ لم يُستورد شيء.',
      one: 'رُفض الملف (مشكلة واحدة)؛ لم يُستورد شيء.',
      two: 'رُفض الملف (مشكلتان)؛ لم يُستورد شيء.',
      few: 'رُفض الملف ({count} مشكلات)؛ لم يُستورد شيء.',
      many: 'رُفض الملف ({count} مشكلةً)؛ لم يُستورد شيء.',
      other: 'رُفض الملف ({count} مشكلة)؛ لم يُستورد شيء.',
    },
  },
  'audit.count': {
    en: { one: '{count} entry shown', other: '{count} entries shown' },
    ar: {
      zero: 'لا سجلات معروضة',
      one: 'سجل واحد معروض',
      two: 'سجلان معروضان',
      few: '{count} سجلات معروضة',
      many: '{count} سجلًا معروضًا',
      other: '{count} سجل معروض',
    },
  },
  'home.found': {
    en: { one: '{count} location found', other: '{count} locations found' },
    ar: {
      zero: 'لم يُعثر على أي موقع',
      one: 'عُثر على موقع واحد',
      two: 'عُثر على موقعين',
      few: 'عُثر على {count} مواقع',
      many: 'عُثر على {count} موقعًا',
      other: 'عُثر على {count} موقع',
    },
  },
} satisfies Record<string, PluralEntry>;

export type PluralKey = keyof typeof plurals;

export type MessageKey = keyof typeof messages;
export type Params = Record<string, string | number>;

/**
 * Numbers, one policy for every screen (chips, messages, conflicts, totals):
 * - Digits are Western (0–9) in both languages: Libya writes them, DTM Libya's forms and
 *   reports use them, and the inputs take them (Arabic-Indic digits typed are converted).
 * - English groups thousands with a comma: 2,426.
 * - Arabic groups thousands with a narrow no-break space (U+202F): 2 426. ICU's ar-LY
 *   groups with a dot ("2.426"), which a reader of English-language DTM reports, a
 *   calculator or a spreadsheet takes for two point four; a comma is the decimal mark in
 *   Maghreb usage. A thin space cannot be read as a decimal mark in either tradition.
 *   Decimals in Arabic use the dot, as calculators and the form inputs do.
 */
const numberLocale: Record<Locale, string> = { en: 'en-GB', ar: 'ar-u-nu-latn' };
/** Dates keep Libya's Arabic month names. */
const dateLocale: Record<Locale, string> = { en: 'en-GB', ar: 'ar-LY' };
const NARROW_NBSP = '\u202F';
/** First strong isolate … pop directional isolate: a run laid out on its own (Unicode UAX #9). */
const FSI = '\u2068';
const PDI = '\u2069';
/** Left-to-right isolate. */
const LRI = '\u2066';

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

/**
 * A run of text laid out on its own direction, so that a Latin code or a number next to
 * punctuation in an Arabic sentence keeps its place ("R1: 2 426" rather than "R1 :2 426").
 */
export function isolate(s: string): string {
  return `${FSI}${s}${PDI}`;
}

/**
 * A run that is always left to right: arithmetic such as "60 + 30 + 5 = 95". An isolate
 * that guesses its direction (FSI) finds no letter in it and follows the Arabic
 * paragraph, which would print "95 = 5 + 30 + 60".
 */
export function ltr(s: string): string {
  return `${LRI}${s}${PDI}`;
}

/** Text that is only a number as formatted: digits, group and decimal marks, sign, percent. */
const NUMBER_LIKE = /^[+\-−]?[\d\u202F\u00A0.,٬٫]+%?$/;

function fill(template: string, l: Locale, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => {
    const v = params[name];
    if (v === undefined) return m;
    const text = typeof v === 'number' ? formatNumber(v, l) : v;
    // In the right-to-left locale every inserted value is isolated: values are where
    // P-codes, round codes, Latin names and numbers enter an Arabic sentence. A number
    // (signed, or a percentage) is always left to right: a guessing isolate finds no
    // letter in "-7 299" and would print it "299 7-".
    if (l !== 'ar') return text;
    return NUMBER_LIKE.test(text) ? ltr(text) : isolate(text);
  });
}

/** Pure lookup and interpolation; numbers in params are formatted for the locale. */
export function translate(l: Locale, key: MessageKey, params?: Params): string {
  return fill(messages[key][l], l, params);
}

/** The plural category of `count` in the locale (Arabic has six, English two). */
export function pluralCategory(l: Locale, count: number): Intl.LDMLPluralRule {
  return new Intl.PluralRules(numberLocale[l]).select(count);
}

/** A counted phrase ("1 conflict", "2 conflicts"; Arabic's six forms); `count` is also a param. */
export function translatePlural(l: Locale, key: PluralKey, count: number, params?: Params): string {
  const forms: Partial<Record<Intl.LDMLPluralRule, string>> = plurals[key][l];
  const template = forms[pluralCategory(l, count)] ?? forms.other!;
  return fill(template, l, { ...params, count });
}

export function tn(key: PluralKey, count: number, params?: Params): string {
  return translatePlural(locale.current, key, count, params);
}

export function t(key: MessageKey, params?: Params): string {
  return translate(locale.current, key, params);
}

/** The locale's half of a bilingual text from a form definition or rule issue. */
export function tr(text: Text): string {
  return text[locale.current];
}

/** A round's title in the user's language: the Arabic one where it was given. */
export function roundTitle(r: { title: string; title_ar?: string }): string {
  return locale.current === 'ar' && r.title_ar ? r.title_ar : r.title;
}

/** The language `roundTitle` shows the title in: English where no Arabic title was given. */
export function roundTitleLang(r: { title: string; title_ar?: string }): Locale {
  return locale.current === 'ar' && r.title_ar ? 'ar' : 'en';
}

/** A form's name in the user's language. */
export function formName(id: string): string {
  const key = `form_name.${id}`;
  return hasMessage(key) ? translate(locale.current, key) : id;
}

export function locationName(loc: { name_en: string; name_ar: string }): string {
  return locale.current === 'ar' ? loc.name_ar : loc.name_en;
}

function formatWith(format: Intl.NumberFormat, n: number, l: Locale): string {
  if (l === 'en') return format.format(n);
  return format
    .formatToParts(n)
    .map((p) => (p.type === 'group' ? NARROW_NBSP : p.value))
    .join('');
}

/** A number for the locale, by the policy at `numberLocale`. */
export function formatNumber(n: number, l: Locale = locale.current): string {
  return formatWith(new Intl.NumberFormat(numberLocale[l]), n, l);
}

export function formatPercent(ratio: number, l: Locale = locale.current): string {
  return formatWith(new Intl.NumberFormat(numberLocale[l], { style: 'percent', maximumFractionDigits: 0 }), ratio, l);
}

export function formatDateTime(iso: string, l: Locale = locale.current): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(dateLocale[l], { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function formatDate(iso: string, l: Locale = locale.current): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(dateLocale[l], { dateStyle: 'medium' }).format(d);
}

/**
 * The word for a gazetteer level: 0 the country, 1 region, then DTM's labels for the COD
 * levels: 2 mantika (admin 1), 3 baladiya (admin 2), 4 muhalla (admin 3).
 */
export function levelKey(level: number): MessageKey {
  return (['loc.country', 'loc.region', 'loc.mantika', 'loc.baladiya'] as const)[level] ?? 'loc.muhalla';
}

/** An example P-code at a COD level, for placeholders. */
export function pcodeExample(level: number): string {
  return level <= 2 ? 'LY0322' : level === 3 ? 'LY032201' : 'LY03220101';
}
