/**
 * Receipts whose batches are saved, waiting to be deleted with the next
 * batch's receipt, in that batch's own transaction.
 *
 * Once a batch's state is saved its receipt is never read again; deleting it
 * straight away costs a statement and a commit (a flush of the server's log)
 * of its own, for every batch. Deleted with the next receipt instead, it
 * costs neither. Until then the connector answers as if it were gone
 * (`readReceipts` leaves it out), and what is still waiting when the
 * connector closes is deleted then. One left behind by a crash is never
 * looked for again: receipts are read only for intents still in the state,
 * and this batch's was removed when its state was saved.
 */
export class ForgottenReceipts<T> {
  /** Tokens per receipts table name, with the table they belong to. */
  private readonly byTable = new Map<string, { table: T; tokens: Set<string> }>();

  add(name: string, table: T, tokens: string[]): void {
    let entry = this.byTable.get(name);
    if (!entry) {
      entry = { table, tokens: new Set() };
      this.byTable.set(name, entry);
    }
    for (const t of tokens) entry.tokens.add(t);
  }

  /** The tokens of this table still to delete. */
  pending(name: string): string[] {
    const entry = this.byTable.get(name);
    return entry ? [...entry.tokens] : [];
  }

  has(name: string, token: string): boolean {
    return this.byTable.get(name)?.tokens.has(token) === true;
  }

  /** These were deleted (their transaction committed), or the whole table's receipts were. */
  deleted(name: string, tokens?: string[]): void {
    const entry = this.byTable.get(name);
    if (!entry) return;
    if (tokens === undefined) entry.tokens.clear();
    else for (const t of tokens) entry.tokens.delete(t);
    if (entry.tokens.size === 0) this.byTable.delete(name);
  }

  /**
   * A batch write on table `name`: with a receipt, it is given the tokens still to delete (to
   * delete with it), and once it has committed they are gone.
   */
  async writing<R>(
    name: string,
    receipt: string | undefined,
    write: (forget: string[]) => Promise<R>,
  ): Promise<R> {
    const forget = receipt === undefined ? [] : this.pending(name);
    const done = await write(forget);
    this.deleted(name, forget);
    return done;
  }

  /** Everything still waiting, table by table (to delete when the connector closes). */
  all(): { name: string; table: T; tokens: string[] }[] {
    return [...this.byTable].map(([name, e]) => ({ name, table: e.table, tokens: [...e.tokens] }));
  }
}
