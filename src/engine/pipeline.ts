/**
 * Batch commits in flight. A batch's state commit is handed to the store and
 * not waited for: the store serves calls in the order they come, so whatever
 * the engine asks of it next already sees the commit, while the engine reads
 * and decides the next batch in the meantime. What must follow a commit
 * (forgetting the batch's receipts) runs once it is saved. At most `depth`
 * commits are queued; a failed one fails the pass at the next commit, add or drain.
 */
export class CommitPipeline {
  /** Saved batch commits that moved a capture cursor (apply.ts prunes every few). */
  cursorCommits = 0;
  private readonly inflight: Promise<void>[] = [];
  private failure: { error: unknown } | null = null;

  constructor(private readonly depth = 2) {}

  /** Queues `saved` (a commit and what follows it); waits while too many are queued. */
  async add(saved: Promise<void>): Promise<void> {
    const tracked = saved.then(
      () => {
        this.inflight.splice(this.inflight.indexOf(tracked), 1);
      },
      (error: unknown) => {
        this.inflight.splice(this.inflight.indexOf(tracked), 1);
        this.failure ??= { error };
      },
    );
    this.inflight.push(tracked);
    while (this.inflight.length > this.depth) await this.inflight[0];
    this.throwIfFailed();
  }

  /** Waits for every queued commit; throws the first that failed. */
  async drain(): Promise<void> {
    while (this.inflight.length > 0) await this.inflight[0];
    this.throwIfFailed();
  }

  /**
   * A commit that failed stops the next from being handed to the store: it was
   * decided on links the failed one would have saved, and its cursors would
   * move past that batch. (Its writes are recovered from its intent.)
   */
  throwIfFailed(): void {
    const f = this.failure;
    if (f) {
      this.failure = null;
      throw f.error;
    }
  }
}
