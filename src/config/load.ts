/**
 * Reads `tandem.yaml` into the resolved model (model.ts): interpolate env →
 * parse YAML (keeping node positions) → check with the zod schema → apply
 * defaults and make paths absolute.
 *
 * Every fault becomes one TandemError whose message lists all issues as
 * `dotted.path (line N): what is wrong`, so `validate` shows everything in one
 * run, and whose fix is concrete for the first issue.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from 'yaml';
import type { z } from 'zod';
import { floatText } from '../core/canonical.js';
import { TandemError } from '../core/errors.js';
import type { Canonical } from '../core/types.js';
import { type Env, interpolate } from './interpolate.js';
import type {
  ConnectionConfig,
  DeleteAction,
  DeleteGuard,
  FieldConfig,
  SideConfig,
  SyncConfig,
  TandemConfig,
} from './model.js';
import {
  allowedKeysAt,
  configSchema,
  DURATION,
  type RawConfig,
  type RawField,
  type RawSync,
} from './schema.js';

export const DEFAULT_STATE = 'sqlite:.tandem/state.db';
export const DEFAULT_POLL_MS = 2000;
export const DEFAULT_DELETE_GUARD: DeleteGuard = { maxFraction: 0.25, minRows: 10 };

/** One schema fault, as listed in a CONFIG_INVALID message. */
export interface ConfigIssue {
  /** Dotted path, e.g. `syncs.customers.right.external_id`; '' for the file as a whole. */
  path: string;
  line: number | undefined;
  message: string;
  fix: string;
}

/** CONFIG_INVALID with the issues kept apart, for `validate --json`. */
export class ConfigInvalidError extends TandemError {
  readonly issues: ConfigIssue[];
  constructor(message: string, fix: string, issues: ConfigIssue[]) {
    super('CONFIG_INVALID', message, fix, issues[0]?.path || undefined);
    this.issues = issues;
  }
}

export function loadConfig(path: string, env: Env = process.env): TandemConfig {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'does not exist'
        : `cannot be read (${(err as Error).message})`;
    throw new TandemError(
      'CONFIG_NOT_FOUND',
      `config file ${abs} ${why}`,
      'run `tandem init` to write a tandem.yaml here, or pass the file with -c/--config PATH',
    );
  }
  return parseConfig(text, abs, env);
}

/** `path` is where the text came from: relative sqlite: paths resolve against its directory. */
export function parseConfig(text: string, path: string, env: Env = process.env): TandemConfig {
  const abs = resolve(path);
  const lineCounter = new LineCounter();
  const doc = parseDocument(interpolate(text, env), { lineCounter, prettyErrors: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0].line;
    throw new TandemError(
      'CONFIG_SYNTAX',
      `${abs} is not valid YAML${line ? ` (line ${line})` : ''}: ${syntax.message}`,
      syntax.code === 'DUPLICATE_KEY'
        ? `a key appears twice in one map${line ? ` (line ${line})` : ''}: keep one`
        : `correct the YAML${line ? ` near line ${line}` : ''}: check indentation, colons, and unclosed quotes or brackets`,
    );
  }
  stringifyNullKeys(doc);
  const data: unknown = doc.toJS();

  const result = configSchema.safeParse(data ?? {}, { reportInput: true });
  if (!result.success) {
    const issues = flatten(result.error.issues).map((i) => describe(i, doc, lineCounter));
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const header =
      data == null ? `${abs} is empty` : `${abs} has ${issues.length} problem${issues.length > 1 ? 's' : ''}`;
    const list = issues.map(
      (i) => `  ${i.path || '(file)'}${i.line ? ` (line ${i.line})` : ''}: ${i.message}`,
    );
    throw new ConfigInvalidError([`${header}:`, ...list].join('\n'), issues[0]!.fix, issues);
  }
  return resolveConfig(result.data, abs);
}

// ---------------------------------------------------------------------------
// Resolution: defaults, names, absolute paths.

function resolveConfig(raw: RawConfig, file: string): TandemConfig {
  const dir = dirname(file);
  const connections: Record<string, ConnectionConfig> = {};
  for (const [name, c] of Object.entries(raw.connections)) {
    connections[name] = {
      name,
      url: resolveSqliteUrl(c.url, dir),
      changeDetection: c.change_detection ?? 'auto',
      pollIntervalMs: c.poll_interval ? durationMs(c.poll_interval) : DEFAULT_POLL_MS,
    };
  }
  return {
    version: 1,
    path: file,
    state: resolveSqliteUrl(raw.state ?? DEFAULT_STATE, dir),
    connections,
    syncs: Object.entries(raw.syncs).map(([name, s]) => resolveSync(name, s)),
  };
}

function resolveSync(name: string, s: RawSync): SyncConfig {
  const sor = s.mode === 'system-of-record';
  const deletes = s.deletes ?? 'propagate';
  const both = (a: DeleteAction) => ({ leftToRight: a, rightToLeft: a });
  const guard = s.delete_guard;
  return {
    name,
    mode: s.mode,
    ...(sor && s.system_of_record ? { systemOfRecord: s.system_of_record } : {}),
    left: resolveSide(s.left),
    right: resolveSide(s.right),
    fields: s.fields === 'auto' ? 'auto' : s.fields.map(resolveField),
    conflicts: s.conflicts ?? (sor ? 'system-of-record' : 'newest-wins'),
    deletes:
      typeof deletes === 'string'
        ? both(deletes)
        : {
            leftToRight: deletes['left-to-right'] ?? 'propagate',
            rightToLeft: deletes['right-to-left'] ?? 'propagate',
          },
    deleteGuard:
      guard === 'off'
        ? null
        : guard === undefined
          ? { ...DEFAULT_DELETE_GUARD }
          : {
              maxFraction: guard.max_fraction ?? DEFAULT_DELETE_GUARD.maxFraction,
              minRows: guard.min_rows ?? DEFAULT_DELETE_GUARD.minRows,
            },
  };
}

function resolveSide(s: RawSync['left']): SideConfig {
  // Leave absent keys absent rather than `undefined`, so the model prints cleanly.
  return {
    connection: s.connection,
    table: s.table,
    ...(s.key !== undefined ? { key: s.key } : {}),
    ...(s.external_id !== undefined ? { externalId: s.external_id } : {}),
    ...(s.updated_at !== undefined ? { updatedAt: s.updated_at } : {}),
    ...(s.filter !== undefined ? { filter: s.filter } : {}),
  };
}

function resolveField(f: RawField): FieldConfig {
  if (typeof f === 'string') return { left: f, right: f, direction: 'both', null: 'clear' };
  if (Array.isArray(f)) return { left: f[0], right: f[1], direction: 'both', null: 'clear' };
  const out: FieldConfig = {
    left: f.left,
    right: f.right,
    direction: f.direction ?? 'both',
    null: f.null ?? 'clear',
  };
  if (f.values) {
    out.values = Object.fromEntries(Object.entries(f.values).map(([k, v]) => [k, canonical(v)]));
  }
  if (f.default) {
    out.default = {};
    if (f.default.left !== undefined) out.default.left = canonical(f.default.left);
    if (f.default.right !== undefined) out.default.right = canonical(f.default.right);
  }
  return out;
}

/** Values are compared canonically (core/types.ts): numbers as exact decimal text. */
function canonical(v: string | number | boolean | null): Canonical {
  return typeof v === 'number' ? floatText(v) : v;
}

export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/**
 * `sqlite:` URLs with relative paths are made absolute against the config's
 * directory (SPEC §2), so the engine never depends on the working directory.
 * `sqlite:///abs` and `sqlite:/abs` both become `sqlite:/abs`; a `?query` is kept.
 */
export function resolveSqliteUrl(url: string, dir: string): string {
  if (!url.startsWith('sqlite:')) return url;
  const rest = url.slice('sqlite:'.length);
  if (rest === ':memory:' || rest.startsWith(':memory:?')) return url;
  const q = rest.indexOf('?');
  let file = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q);
  if (file.startsWith('//')) file = file.slice(2);
  if (file === '~' || file.startsWith('~/')) file = homedir() + file.slice(1);
  return `sqlite:${isAbsolute(file) ? file : resolve(dir, file)}${query}`;
}

// ---------------------------------------------------------------------------
// Issues: flatten unions, find lines, word messages and fixes.

type Issue = z.core.$ZodIssue;

/**
 * A union reports one issue per branch; the user meant the branch whose shape
 * the input has (an object for `{left, right}`), so report that branch's
 * issues. When no branch fits even in shape, keep the union's own message.
 */
function flatten(issues: readonly Issue[]): Issue[] {
  return issues.flatMap((i): Issue[] => {
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => ({ ...i, keys: [k], path: [...i.path, k] }));
    }
    if (i.code !== 'invalid_union') return [i];
    const near = i.errors.filter((branch) => !branch.every((b) => b.path.length === 0 && isShapeMismatch(b)));
    if (near.length !== 1) return [i];
    return flatten(near[0]!.map((b) => ({ ...b, path: [...i.path, ...b.path] }) as Issue));
  });
}

function isShapeMismatch(i: Issue): boolean {
  return (
    i.code === 'invalid_type' ||
    i.code === 'invalid_value' ||
    (i.code === 'invalid_union' && flatten([i])[0] === i)
  );
}

function describe(i: Issue, doc: Document, lc: LineCounter): ConfigIssue {
  const segs = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const path = segs.join('.');
  const line = lineOf(doc, lc, segs);
  const input = 'input' in i ? i.input : undefined;
  const last = segs[segs.length - 1];
  const parent = segs.slice(0, -1).join('.') || 'the top level';
  // A key that is absent reaches us as a type/literal mismatch on `undefined`.
  if ((i.code === 'invalid_type' || i.code === 'invalid_value') && input === undefined && segs.length > 0) {
    return {
      path,
      line,
      message: `required key "${String(last)}" is missing`,
      fix: `add under ${parent}:  ${String(last)}: ${HINTS[String(last)] ?? '…'}`,
    };
  }

  switch (i.code) {
    case 'custom':
      return { path, line, message: i.message, fix: String(i.params?.fix ?? `correct ${path}`) };
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(segs.slice(0, -1)) ?? [];
      const near = allowed.find((k) => distance(k, String(last)) <= 2);
      return {
        path,
        line,
        message: `unknown key "${String(last)}"`,
        fix: `${near ? `did you mean "${near}"? ` : ''}remove "${String(last)}" from ${parent}; the keys allowed there are: ${allowed.join(', ')}`,
      };
    }
    case 'invalid_value': {
      const options = i.values.map((v) => JSON.stringify(v)).join(', ');
      return {
        path,
        line,
        message: `${show(input)} is not allowed; use ${i.values.length > 1 ? 'one of ' : ''}${options}`,
        fix: `set ${path} to ${i.values.length > 1 ? 'one of: ' : ''}${i.values.map(String).join(', ')}`,
      };
    }
    case 'invalid_type': {
      // Schema-specific wording (e.g. poll_interval's) beats zod's generic one.
      const own = !i.message.startsWith('Invalid input');
      const expected = i.expected === 'object' ? 'a map of keys' : `a ${i.expected}`;
      return {
        path,
        line,
        message: `${own ? i.message : `expected ${expected}`}, got ${show(input)}`,
        fix: own ? `set ${path}: it ${i.message}` : `write ${path || 'the file'} as ${expected}`,
      };
    }
    case 'too_small':
    case 'too_big': {
      const message =
        i.origin === 'array'
          ? 'a [left, right] pair has exactly two column names'
          : i.origin === 'string'
            ? 'must not be empty'
            : i.code === 'too_big'
              ? `must be ${i.inclusive ? 'at most' : 'less than'} ${i.maximum}`
              : `must be ${i.inclusive ? 'at least' : 'more than'} ${i.minimum}`;
      return { path, line, message, fix: `set ${path}: it ${message}` };
    }
    case 'invalid_key': {
      // A connection or sync name that breaks the naming rule.
      const why = i.issues[0]?.message ?? i.message;
      return {
        path,
        line,
        message: `bad name "${String(last)}": ${why}`,
        fix: `rename "${String(last)}": ${why}`,
      };
    }
    default:
      return {
        path,
        line,
        message: i.code === 'invalid_union' ? `${i.message}; got ${show(input)}` : i.message,
        fix: `correct ${path}: ${i.message}`,
      };
  }
}

/** What to write for a missing key, in the fix. */
const HINTS: Record<string, string> = {
  version: '1',
  connections: '{ app: { url: sqlite:./app.db } }',
  syncs: '(a sync; run `tandem init` for an example)',
  url: 'sqlite:./data.db   # or postgres://user@host/db, mysql://user@host/db',
  mode: 'system-of-record   # or external-id',
  left: '{ connection: <name>, table: <table> }',
  right: '{ connection: <name>, table: <table> }',
  connection: '<a name under connections:>',
  table: '<table name>',
  fields: 'auto   # or a list of column names',
};

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'a map';
  return JSON.stringify(v);
}

/** The 1-based line of the deepest node on `path` (a missing key points at its parent). */
function lineOf(doc: Document, lc: LineCounter, path: (string | number)[]): number | undefined {
  let node: unknown = doc.contents;
  let at: Node | null | undefined = doc.contents;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      // A key's own line: the value may be empty, or a block starting lines below.
      at = (isScalar(pair.key) ? pair.key : null) ?? (pair.value as Node | null);
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (!item || isPair(item)) break;
      at = item as Node;
      node = item;
    } else {
      break;
    }
  }
  const offset = at?.range?.[0];
  return offset === undefined ? undefined : lc.linePos(offset).line;
}

/** YAML reads the key in `null: skip` as null (and toJS then as ""); the user meant the word. */
function stringifyNullKeys(doc: Document): void {
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === null) pair.key.value = pair.key.source || 'null';
    },
  });
}

/** Edit distance, for "did you mean". Short strings only. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
