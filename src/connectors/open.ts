/**
 * Picks the connector for a connection URL. New systems are added here.
 */
import { TandemError } from '../core/errors.js';
import type { Connector } from './connector.js';
import { SqliteConnector } from './sqlite/connector.js';

export function openConnector(url: string, options: { create?: boolean } = {}): Connector {
  if (url.startsWith('sqlite:')) return SqliteConnector.open(url, options);
  const scheme = url.split(':')[0] ?? url;
  if (['postgres', 'postgresql', 'mysql', 'mariadb'].includes(scheme)) {
    throw new TandemError(
      'URL_UNSUPPORTED',
      `${scheme}:// connections are not supported by this version of tandem yet`,
      'use a sqlite: connection for now; PostgreSQL and MySQL/MariaDB connectors are on the roadmap',
    );
  }
  throw new TandemError(
    'URL_UNSUPPORTED',
    `unknown connection URL scheme "${scheme}:"`,
    'use sqlite:PATH (postgres:// and mysql:// are planned)',
  );
}

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}
