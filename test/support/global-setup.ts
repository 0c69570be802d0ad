/**
 * Once per `vitest run`: the private PostgreSQL the tests share (each test
 * makes and drops its own database in it). Tests get its URL with
 * `inject('pgUrl')`.
 */
import type { TestProject } from 'vitest/node';
import { type PgServer, startPgServer } from '../../scripts/pg-server.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

let server: PgServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startPgServer();
  project.provide('pgUrl', server.url);
}

export async function teardown(): Promise<void> {
  server?.stop();
}
