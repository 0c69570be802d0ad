export interface MariaDbServer {
  /** Root URL (no password, over TCP) of the `mysql` database: `mysql://root@127.0.0.1:PORT/mysql`. */
  url: string;
  port: number;
  socket: string;
  dir: string;
  /** Kills the server and removes its data directory. */
  stop(): void;
  /** Kills the server as a crash would (SIGKILL) and starts it again on the same data. */
  restart(): Promise<void>;
}
export function startMariaDbServer(options?: {
  durable?: boolean;
  serverId?: number;
}): Promise<MariaDbServer>;
