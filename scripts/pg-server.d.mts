export interface PgServer {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  stop(): void;
}
export function startPgServer(options?: { durable?: boolean }): Promise<PgServer>;
