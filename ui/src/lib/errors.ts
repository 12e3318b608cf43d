import type { ErrorCode } from './api-types';
import { BackendError } from './backend/backend';
import { hasMessage, locale, translate, type Locale } from './i18n';

/** Text that must not reach a person: a URL or a socket address from a transport error. */
const TECHNICAL = /(https?:\/\/|\b\d{1,3}(\.\d{1,3}){3}\b|os error|error sending request)/i;

/**
 * What to show for a failure in locale `l`: the translated text for its code. A code the
 * app has no text for falls back to the server's message in English only, and only when
 * it reads as a sentence; Arabic never shows an English message, and no locale shows a URL.
 */
export function errorMessage(l: Locale, e: unknown): string {
  const err = BackendError.from(e, 'unknown');
  const key = `error.${err.code}`;
  // `unknown` is a code this build does not know (a newer HQ's): its message is the best there is.
  if (err.code !== 'unknown' && hasMessage(key)) return translate(l, key);
  if (l === 'en' && err.message && !TECHNICAL.test(err.message)) return err.message;
  return translate(l, 'error.unknown');
}

/** errorMessage in the chosen locale. */
export function errorText(e: unknown): string {
  return errorMessage(locale.current, e);
}

export function errorCode(e: unknown): ErrorCode {
  return BackendError.from(e, 'unknown').code;
}
