import { describe, expect, it } from 'vitest';
import type { ApiError, SyncState } from './api-types';
import { errorMessage } from './errors';
import { translatePlural } from './i18n';
import { isTransient, shownSyncError, syncStatus } from './syncStatus';

const base: SyncState = {
  online: true,
  syncing: false,
  pending: 0,
  rejected: 0,
  conflicts: 0,
  superseded: 0,
  pending_logouts: 0,
  last_sync_at: null,
  last_error: null,
  progress: null,
};
const state = (s: Partial<SyncState>): SyncState => ({ ...base, ...s });
// dtm-sync's ClientError::Offline carries reqwest's text, URL and all.
const OFFLINE: ApiError = { code: 'offline', message: 'HQ cannot be reached: error sending request for url (http://10.0.0.5:8080/api/sync/push)' };

describe('syncStatus', () => {
  it('shows a sync that could not reach HQ as the neutral offline state, not as an error', () => {
    const s = syncStatus(state({ online: false, pending: 12, last_error: OFFLINE }));
    expect(s.connection).toBe('offline');
    expect(s.problem, 'offline is the normal state in the field').toBeNull();
    expect(translatePlural('en', s.waiting.key, s.waiting.count)).toBe('12 changes waiting, saved on this device');
  });

  it('treats HQ down, a proxy page, a fetch failure and a sync already running as transient', () => {
    for (const code of ['offline', 'hq_unavailable', 'http_error', 'network', 'sync_running'] as const) {
      expect(isTransient(code), code).toBe(true);
      expect(syncStatus(state({ last_error: { code, message: 'x' } })).problem, code).toBeNull();
    }
  });

  it('says what happened when HQ disabled the account or revoked the device, and that unsent data stays', () => {
    for (const code of ['account_disabled', 'device_revoked'] as const) {
      const s = syncStatus(state({ pending: 3, last_error: { code, message: 'x' } }));
      expect(s.problem?.tone, code).toBe('access');
      expect(s.waiting.key, 'the count says the changes are kept on the device').toBe('sync.waiting_saved');
      expect(errorMessage('en', s.problem!.error)).toMatch(/stay on this device/);
      expect(errorMessage('ar', s.problem!.error)).toMatch(/تبقى التغييرات غير المرسلة على هذا الجهاز/);
    }
  });

  it('keeps other failures visible, as attention', () => {
    const s = syncStatus(state({ last_error: { code: 'protocol_error', message: 'bad zstd frame' } }));
    expect(s.problem?.tone).toBe('attention');
    expect(s.connection).toBe('online');
  });

  it('says syncing while a sync runs, and the plain count when online', () => {
    expect(syncStatus(state({ syncing: true })).connection).toBe('syncing');
    const s = syncStatus(state({ pending: 1 }));
    expect(translatePlural('en', s.waiting.key, s.waiting.count)).toBe('1 change waiting to be sent');
  });

  it('drops a thrown offline error from Sync now and keeps any other', () => {
    expect(shownSyncError(OFFLINE)).toBeNull();
    const other = { code: 'database_error', message: 'disk full' };
    expect(shownSyncError(other)).toBe(other);
  });
});

describe('errorMessage', () => {
  it('translates by code, never showing the transport text', () => {
    expect(errorMessage('en', OFFLINE)).not.toMatch(/http/);
    expect(errorMessage('ar', OFFLINE)).toMatch(/غير متصل/);
  });

  it('never shows an English message in Arabic for a code it does not know', () => {
    expect(errorMessage('ar', { code: 'brand_new_code', message: 'Something HQ added later' })).toBe('حدث خطأ ما.');
    expect(errorMessage('en', { code: 'brand_new_code', message: 'Something HQ added later' })).toBe('Something HQ added later');
  });

  it('never shows a URL or an address, in either language', () => {
    const raw = { code: 'brand_new_code', message: 'connect failed: http://192.168.1.4:8080' };
    expect(errorMessage('en', raw)).toBe('Something went wrong.');
    expect(errorMessage('en', new Error('os error 111'))).toBe('Something went wrong.');
  });
});

describe('app updates from HQ', () => {
  it('says an update is available, calmly, without stopping anything', () => {
    const s = syncStatus({ ...base, online: true, update_available: '1.4.0' });
    expect(s.update).toEqual({ kind: 'available', version: '1.4.0' });
    expect(s.problem, 'an available update is not a problem').toBeNull();
    expect(s.connection).toBe('online');
  });

  it('says an update is required, and that the changes wait on this device', () => {
    const error: ApiError = { code: 'update_required', message: 'this app is version 0.1.0; HQ syncs with 1.0.0 or newer' };
    const s = syncStatus({ ...base, online: true, pending: 4, last_error: error, update_available: '1.4.0' });
    expect(s.update).toEqual({ kind: 'required', error });
    expect(s.problem, 'shown once, as the update').toBeNull();
    expect(s.waiting.key, 'the changes are said to be safe on this device').toBe('sync.waiting_saved');
  });
});
