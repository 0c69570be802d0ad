/**
 * Waiting for a stream to make progress: a reader waits up to a time limit,
 * and the stream wakes every waiting reader at once when something arrives.
 * Shared by the PostgreSQL and MariaDB replication streams.
 */
export class Wakeups {
  private waiters: (() => void)[] = [];

  /** Resolves at the next wake(), or after `ms` at the latest. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Wakes every reader waiting now. */
  wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}
