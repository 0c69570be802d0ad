/**
 * Failpoints for crash tests: `TANDEM_FAILPOINT=<name>[:<n>]` makes the
 * process kill itself (SIGKILL, as a power cut would) the n-th time (default
 * the first) it reaches the point of that name. Random kills rarely land in a
 * window a few milliseconds wide; a failpoint lands there every time. Unset
 * (always, outside tests), a failpoint costs one comparison.
 *
 * Points:
 * - `after-side-commit`: a batch's rows are committed on a side, its state
 *   commit (links, cursors) is not yet sent.
 */
const spec = process.env.TANDEM_FAILPOINT ?? '';
const [armed = '', countText] = spec.split(':');
let remaining = Number(countText ?? '1') || 1;

export function failpoint(name: string): void {
  if (armed !== name) return;
  if (--remaining > 0) return;
  process.kill(process.pid, 'SIGKILL');
}
