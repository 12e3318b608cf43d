import { getContext, setContext } from 'svelte';
import type { Session } from './api-types';
import type { Backend } from './backend';

export interface AppContext {
  backend: Backend;
  readonly session: Session | null;
  /** Call when any backend call fails: an expired session sends the user back to sign in. */
  handleError(e: unknown): void;
}

const KEY = Symbol('dtm-app');

export function setApp(ctx: AppContext): void {
  setContext(KEY, ctx);
}

export function getApp(): AppContext {
  return getContext<AppContext>(KEY);
}
