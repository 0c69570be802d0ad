export interface PgServer {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  stop(): void;
  /** Stops the server as a crash would (immediate) and starts it again on the same data. */
  restart(): void;
}
export function startPgServer(options?: { durable?: boolean }): Promise<PgServer>;
