import type { Backend } from './backend';
import { HttpBackend } from './http';
import { TauriBackend } from './tauri';

export { BackendError } from './backend';
export type { AuditFilter, Backend, BackendKind, LoginInput, SignedIn } from './backend';

/** Tauri IPC inside the field app, HTTP against the serving dtm-hq otherwise. */
export function createBackend(): Backend {
  return '__TAURI_INTERNALS__' in window ? new TauriBackend() : new HttpBackend();
}
