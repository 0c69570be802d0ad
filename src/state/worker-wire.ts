/**
 * What crosses between WorkerStateStore and its worker: numbered requests, and
 * replies that carry either a value or an error rebuilt on the other side with
 * its code (a TandemError stays a TandemError, a SQLite error keeps its
 * SQLITE_* code so callers can still tell an environment fault).
 */
import { type ErrorCode, TandemError } from '../core/errors.js';
import type { StateStore } from './store.js';

/** The store's methods, and the two that take their payload already encoded (see sqlite-encoding.ts). */
type Method =
  | Exclude<keyof StateStore, 'description' | 'addIntent' | 'commit'>
  | 'addIntentText'
  | 'commitRows';

export interface Request {
  id: number;
  method: Method;
  args: unknown[];
}

export interface WireError {
  name: string;
  message: string;
  code?: string;
  fix?: string;
  path?: string;
  stack?: string;
}

export type Reply = { id: number; ok: true; value?: unknown } | { id: number; ok: false; error: WireError };

export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const wire: WireError = { name: err.name, message: err.message };
  if (err.stack !== undefined) wire.stack = err.stack;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') wire.code = code;
  if (err instanceof TandemError) {
    wire.fix = err.fix;
    if (err.path !== undefined) wire.path = err.path;
  }
  return wire;
}

export function errorFromWire(wire: WireError): Error {
  if (wire.name === 'TandemError' && wire.code !== undefined && wire.fix !== undefined) {
    return new TandemError(wire.code as ErrorCode, wire.message, wire.fix, wire.path);
  }
  const err = new Error(wire.message) as Error & { code?: string };
  err.name = wire.name;
  if (wire.code !== undefined) err.code = wire.code;
  if (wire.stack !== undefined) err.stack = wire.stack;
  return err;
}
