import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, accountStatus, addToScope, auditQuery, newPasswordProblem, roleChoices, svgDataUrl } from './people';
import { hasMessage, levelKey } from './i18n';

describe('role choices', () => {
  it('lets a supervisor create enumerators only', () => {
    expect(roleChoices('supervisor')).toEqual(['enumerator']);
  });
  it('lets an admin give any role, and an enumerator none', () => {
    expect(roleChoices('admin')).toEqual(['enumerator', 'supervisor', 'admin']);
    expect(roleChoices('enumerator')).toEqual([]);
  });
});

describe('account status', () => {
  it('calls a disabled account disabled even while its password is still to be set', () => {
    expect(accountStatus({ disabled_at: '2026-11-30T10:00:00Z', must_change_password: true })).toBe('disabled');
  });
  it('tells an account waiting for its first password from an active one', () => {
    expect(accountStatus({ disabled_at: null, must_change_password: true })).toBe('must_set_password');
    expect(accountStatus({ disabled_at: null, must_change_password: false })).toBe('active');
  });
});

describe('audit filter as a query', () => {
  it('is empty without a filter, so the first page is HQ’s default', () => {
    expect(auditQuery({})).toBe('');
    expect(auditQuery({ actor: '  ', action: '' })).toBe('');
  });
  it('keeps every given part, trimmed and encoded', () => {
    expect(auditQuery({ actor: ' sup.west ', action: 'reset_password', from: '2026-11-01', to: '2026-11-30', before: 42, limit: 50 })).toBe(
      '?actor=sup.west&action=reset_password&from=2026-11-01&to=2026-11-30&before=42&limit=50',
    );
    expect(auditQuery({ actor: 'a&b=c' })).toBe('?actor=a%26b%3Dc');
  });
  it('has a label in both languages for every action it offers', () => {
    for (const a of AUDIT_ACTIONS) expect(hasMessage(`audit_action.${a}`), `audit_action.${a}`).toBe(true);
  });
});

describe('new password', () => {
  it('must be typed the same twice; strength is left to HQ', () => {
    expect(newPasswordProblem('olive tree harbour', 'olive tree harbor')).toBe('password_mismatch');
    expect(newPasswordProblem('x', 'x')).toBeNull();
  });
});

describe('scope', () => {
  const west = { pcode: 'LY02', level: 1, name_en: 'West', name_ar: 'الغرب' };
  const tripoli = { pcode: 'LY0211', level: 2, name_en: 'Tripoli', name_ar: 'طرابلس' };
  it('adds a place once', () => {
    expect(addToScope(addToScope([west], tripoli), tripoli).map((p) => p.pcode)).toEqual(['LY02', 'LY0211']);
  });
  it('names each gazetteer level the DTM way', () => {
    expect([0, 1, 2, 3, 4].map(levelKey)).toEqual(['loc.country', 'loc.region', 'loc.mantika', 'loc.baladiya', 'loc.muhalla']);
  });
});

describe('QR image', () => {
  it('turns an SVG, Arabic included, into a base64 data URL that decodes back to it', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><title>طرابلس</title></svg>';
    const url = svgDataUrl(svg);
    expect(url.startsWith('data:image/svg+xml;base64,')).toBe(true);
    const bytes = Uint8Array.from(atob(url.split(',')[1]), (c) => c.charCodeAt(0));
    expect(new TextDecoder().decode(bytes)).toBe(svg);
  });
});
