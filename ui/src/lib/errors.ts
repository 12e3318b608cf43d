import { BackendError } from './backend/backend';
import { hasMessage, t } from './i18n';

/** What to show for a failure: the localised text for its code, else the server's message. */
export function errorText(e: unknown): string {
  const err = BackendError.from(e, 'unknown');
  const key = `error.${err.code}`;
  if (hasMessage(key)) return t(key);
  return err.message || t('error.unknown');
}

export function errorCode(e: unknown): string {
  return BackendError.from(e, 'unknown').code;
}
