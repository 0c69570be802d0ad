/**
 * A database server's own error that reached the command line unhandled (a
 * full disk, a temporary file gone, a lock wait timeout, a server shutting
 * down): shown as SERVER_ERROR with the server's message and code, not as a
 * bug in tandem with a stack trace. The drivers' errors are recognised by
 * their shape: mysql2's carry `errno`, `sqlState` and `sqlMessage`; pg's a
 * five-character SQLSTATE `code` and a `severity`.
 */
import { TandemError } from '../core/errors.js';

export function serverError(e: unknown): TandemError | null {
  if (!(e instanceof Error)) return null;
  const x = e as Error & {
    errno?: unknown;
    sqlState?: unknown;
    sqlMessage?: unknown;
    code?: unknown;
    severity?: unknown;
  };
  let said: string | null = null;
  if (typeof x.errno === 'number' && typeof x.sqlState === 'string') {
    said = `MySQL/MariaDB error ${x.errno} (SQLSTATE ${x.sqlState}): ${typeof x.sqlMessage === 'string' ? x.sqlMessage : x.message}`;
  } else if (typeof x.code === 'string' && /^[0-9A-Z]{5}$/.test(x.code) && typeof x.severity === 'string') {
    said = `PostgreSQL ${x.severity} (SQLSTATE ${x.code}): ${x.message}`;
  }
  if (said === null) return null;
  return new TandemError(
    'SERVER_ERROR',
    `The database server failed a statement: ${said}`,
    "The message is the server's own; its log may say more. Run the command again once the cause is gone " +
      '(nothing half-done is kept: the batch is run again from the saved state). If the message points at a ' +
      'statement tandem made, please report it with this output.',
  );
}
