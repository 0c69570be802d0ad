/**
 * Picks the connector for a connection URL. New systems are added here.
 *
 * Each system's code (and its driver: pg, mysql2, zongji) is loaded the first
 * time a URL of that system is opened, so a command on SQLite files does not
 * pay a third of a second at every start for servers it never talks to.
 */
import type { ChangeDetection } from '../config/model.js';
import { TandemError } from '../core/errors.js';
import type { Connector } from './connector.js';

export interface OpenOptions {
  /** SQLite: make the file when it does not exist. */
  create?: boolean;
  /** The connection's `change_detection` and `poll_interval` (connectors that poll use them). */
  changeDetection?: ChangeDetection;
  pollIntervalMs?: number;
}

export async function openConnector(url: string, options: OpenOptions = {}): Promise<Connector> {
  if (url.startsWith('sqlite:')) {
    const { SqliteConnector } = await import('./sqlite/connector.js');
    return SqliteConnector.open(url, options.create === undefined ? {} : { create: options.create });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresConnector } = await import('./postgres/connector.js');
    // Checked against what the system offers by the caller (runtime.ts): here only what postgres takes.
    const mode = options.changeDetection;
    return PostgresConnector.open(url, {
      ...(mode === 'auto' || mode === 'cdc' || mode === 'poll' ? { changeDetection: mode } : {}),
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    });
  }
  if (/^(mysql|mariadb):\/\//.test(url)) {
    const { MysqlConnector } = await import('./mysql/connector.js');
    // One connector for both servers: their differences are inside it.
    const mode = options.changeDetection;
    return MysqlConnector.open(url, {
      ...(mode === 'auto' || mode === 'cdc' || mode === 'poll' ? { changeDetection: mode } : {}),
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    });
  }
  const scheme = url.split(':')[0] ?? url;
  throw new TandemError(
    'URL_UNSUPPORTED',
    `unknown connection URL scheme "${scheme}:"`,
    'use postgres://user@host/database, mysql://user@host/database (or mariadb://…) or sqlite:PATH',
  );
}

export { redactUrl } from './url.js';
