/**
 * What a `state: postgres://…` URL names: the server to connect to, and the
 * schema the state lives in (`?schema=NAME`, default `tandem_state`). The
 * `schema` parameter is tandem's, so it is taken out before the URL goes to
 * the driver; every other parameter (sslmode, …) goes through as it is.
 */
import { redactUrl } from '../connectors/url.js';
import { TandemError } from '../core/errors.js';

export const DEFAULT_STATE_SCHEMA = 'tandem_state';

export interface PgStateUrl {
  /** For the driver: the URL without `schema`. */
  connectionString: string;
  schema: string;
  /** For messages and logs: no password, no query parameters but `schema`. */
  description: string;
}

/** An unquoted PostgreSQL identifier that stays as written (lower case, at most 63 bytes). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

export function parseStateUrl(url: string): PgStateUrl {
  const q = url.indexOf('?');
  const base = q < 0 ? url : url.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const schema = params.get('schema') ?? DEFAULT_STATE_SCHEMA;
  params.delete('schema');
  if (!SCHEMA_NAME.test(schema)) {
    throw new TandemError(
      'CONFIG_INVALID',
      `the state store's schema ${JSON.stringify(schema)} is not a plain PostgreSQL name`,
      'use lower-case letters, digits and _ (not starting with a digit, at most 63), e.g. ?schema=tandem_state',
      'state',
    );
  }
  const rest = params.toString();
  return {
    connectionString: rest ? `${base}?${rest}` : base,
    schema,
    description: `${redactUrl(base)}${schema === DEFAULT_STATE_SCHEMA ? '' : `?schema=${schema}`}`,
  };
}
