/**
 * `${VAR}` / `${VAR:-default}` substitution on the raw config text (SPEC §2:
 * "replaced from the environment before parsing").
 *
 * Why on the text and not on parsed values: the spec says so, and it lets a
 * variable stand anywhere (a whole URL, part of one, a number). Replacements
 * never add lines (a value containing a newline is refused), so line numbers
 * in later errors still point at the user's file.
 */
import { TandemError } from '../core/errors.js';

export type Env = Record<string, string | undefined>;

// `$$` is an escape for a literal `$` (so `$${X}` yields the text `${X}`).
// `:-` follows the shell: the default is used when the variable is unset OR empty.
const TOKEN = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replace every `${VAR}` in `text`. Whole-line comments are left alone so examples in them need no env. */
export function interpolate(text: string, env: Env): string {
  const lines = text.split('\n');
  return lines
    .map((line, i) => {
      if (/^\s*#/.test(line)) return line;
      return line.replace(TOKEN, (match, name: string | undefined, fallback: string | undefined) => {
        if (match === '$$') return '$';
        const value = env[name!];
        if (value !== undefined && (value !== '' || fallback === undefined))
          return checked(value, name!, i + 1);
        if (fallback !== undefined) return fallback;
        throw new TandemError(
          'CONFIG_ENV',
          `\${${name}} on line ${i + 1} names an environment variable that is not set`,
          `export ${name}=… before running tandem, or give a default: \${${name}:-value}`,
          undefined,
        );
      });
    })
    .join('\n');
}

function checked(value: string, name: string, line: number): string {
  if (!/[\r\n]/.test(value)) return value;
  throw new TandemError(
    'CONFIG_ENV',
    `\${${name}} on line ${line} holds a line break, which cannot be put into the YAML text`,
    `set ${name} to a single-line value`,
  );
}
