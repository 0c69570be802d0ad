/**
 * Picks the connector for a connection URL. New systems are added here.
 */
import { TandemError } from '../core/errors.js';
import type { Connector } from './connector.js';
import { PostgresConnector } from './postgres/connector.js';
import { SqliteConnector } from './sqlite/connector.js';

export function openConnector(url: string, options: { create?: boolean } = {}): Connector {
  if (url.startsWith('sqlite:')) return SqliteConnector.open(url, options);
  if (/^postgres(ql)?:\/\//.test(url)) return PostgresConnector.open(url);
  const scheme = url.split(':')[0] ?? url;
  if (['mysql', 'mariadb'].includes(scheme)) {
    throw new TandemError(
      'URL_UNSUPPORTED',
      `${scheme}:// connections are not supported by this version of tandem yet`,
      'use a postgres:// or sqlite: connection for now; the MySQL/MariaDB connector is on the roadmap',
    );
  }
  throw new TandemError(
    'URL_UNSUPPORTED',
    `unknown connection URL scheme "${scheme}:"`,
    'use postgres://user@host/database or sqlite:PATH (mysql:// is planned)',
  );
}

export { redactUrl } from './url.js';
