/**
 * Once per `vitest run`: the private PostgreSQL and MariaDB the tests share
 * (each test makes and drops its own database in them), started side by side.
 * Tests get their URLs with `inject('pgUrl')` and `inject('mariadbUrl')`.
 */
import type { TestProject } from 'vitest/node';
import { type MariaDbServer, startMariaDbServer } from '../../scripts/mariadb-server.mjs';
import { type PgServer, startPgServer } from '../../scripts/pg-server.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
    mariadbUrl: string;
  }
}

let pgServer: PgServer | undefined;
let mariadbServer: MariaDbServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  const [pg, maria] = await Promise.allSettled([startPgServer(), startMariaDbServer()]);
  if (pg.status === 'fulfilled') pgServer = pg.value;
  if (maria.status === 'fulfilled') mariadbServer = maria.value;
  // One failed to start: stop the other too, then fail the run with the reason.
  if (pg.status === 'rejected' || maria.status === 'rejected') {
    await teardown();
    throw pg.status === 'rejected' ? pg.reason : (maria as PromiseRejectedResult).reason;
  }
  project.provide('pgUrl', pg.value.url);
  project.provide('mariadbUrl', maria.value.url);
}

export async function teardown(): Promise<void> {
  pgServer?.stop();
  mariadbServer?.stop();
  pgServer = undefined;
  mariadbServer = undefined;
}
