// What the sync bar says about the device's link to HQ. Offline is the field app's normal
// state, not a failure: a sync that could not reach HQ reads as "Offline — 12 changes
// waiting, saved on this device", never as an error with a URL in it.

import type { ApiError, ErrorCode, SyncState } from './api-types';
import type { PluralKey } from './i18n';

/**
 * Failures that only mean "HQ could not be reached this time": the next sync retries with
 * the same operations. `offline` (no connection, DNS, timeout; dtm-sync's client),
 * `hq_unavailable` (HQ or a proxy answered 5xx without HQ's error body), `http_error` (an
 * answer that is not HQ's: a captive portal or a proxy page), `network` (the web
 * dashboard's fetch failed) and `sync_running` (another sync is already on its way).
 */
export const TRANSIENT_SYNC_CODES = ['offline', 'hq_unavailable', 'http_error', 'network', 'sync_running'] as const satisfies readonly ErrorCode[];

/** HQ no longer lets this device sync; what was not sent stays on the device. */
export const ACCESS_ENDED_CODES = ['account_disabled', 'device_revoked', 'device_wipe', 'unauthenticated'] as const;

export function isTransient(code: string): boolean {
  return (TRANSIENT_SYNC_CODES as readonly string[]).includes(code);
}

export type Connection = 'online' | 'offline' | 'syncing';

export interface SyncStatus {
  connection: Connection;
  /** The count of operations waiting, and how to say it. */
  waiting: { key: PluralKey; count: number };
  /**
   * A failure the enumerator should know about; null for none or a transient one.
   * `access` when HQ ended this device's access, `attention` otherwise.
   */
  problem: { error: ApiError; tone: 'access' | 'attention' } | null;
  /**
   * A field app update: `required` when HQ no longer syncs with this version (the outbox
   * waits, safe, until the app is updated), else `available` when HQ says a newer one is
   * released. Said calmly, with what to do; never an error.
   */
  update: { kind: 'required'; error: ApiError } | { kind: 'available'; version: string } | null;
}

export function syncStatus(s: SyncState): SyncStatus {
  const err = s.last_error;
  const unreachable = !s.online || (err !== null && isTransient(err.code));
  const connection: Connection = s.syncing ? 'syncing' : unreachable ? 'offline' : 'online';
  let problem: SyncStatus['problem'] = null;
  let update: SyncStatus['update'] = null;
  if (err?.code === 'update_required') {
    update = { kind: 'required', error: err };
  } else if (err && !isTransient(err.code)) {
    problem = { error: err, tone: (ACCESS_ENDED_CODES as readonly string[]).includes(err.code) ? 'access' : 'attention' };
  }
  if (update === null && s.update_available) update = { kind: 'available', version: s.update_available };
  // Whenever the changes cannot leave now, say where they are: on this device, safe.
  const saved = connection === 'offline' || problem !== null || update?.kind === 'required';
  return { connection, waiting: { key: saved ? 'sync.waiting_saved' : 'sync.waiting', count: s.pending }, problem, update };
}

/** An error thrown by Sync now: shown only if it is not the ordinary offline state. */
export function shownSyncError(e: unknown): unknown | null {
  const code = typeof e === 'object' && e !== null && typeof (e as ApiError).code === 'string' ? (e as ApiError).code : null;
  return code !== null && isTransient(code) ? null : e;
}
