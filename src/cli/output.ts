/**
 * Output for people (aligned tables, colour unless NO_COLOR or not a TTY) and
 * for machines (--json). Results go to stdout; logs and errors to stderr.
 */
const useColor = () => !process.env.NO_COLOR && process.stdout.isTTY === true;
const wrap = (code: number, close: number) => (s: string) =>
  useColor() ? `\x1b[${code}m${s}\x1b[${close}m` : s;

export const color = {
  bold: wrap(1, 22),
  dim: wrap(2, 22),
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI colour codes is the point.
const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

/** An aligned text table; `rows` are already strings. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - visible(c))))
      .join('  ')
      .trimEnd();
  return [color.bold(line(headers)), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** A one-line progress bar on stderr, only when stderr is a terminal. */
export function progress(label: string): { update(done: number, phase: string): void; end(): void } {
  if (!process.stderr.isTTY) return { update() {}, end() {} };
  let last = 0;
  return {
    update(done, phase) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      process.stderr.write(`\r${label} ${phase}: ${done.toLocaleString('en-US')} records`);
    },
    end() {
      if (last) process.stderr.write('\n');
    },
  };
}
