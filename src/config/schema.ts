/**
 * The zod schema of `tandem.yaml` as the user writes it (snake_case, SPEC §2).
 * load.ts parses with it and then resolves defaults into model.ts; the JSON
 * Schema for editors is generated from it, so descriptions here are what an
 * editor shows on hover.
 *
 * No transforms on purpose: the schema only checks, so `z.toJSONSchema` can
 * represent all of it and resolution lives in one place (load.ts).
 */
import { z } from 'zod';
import { CHANGE_DETECTION, CONFLICT_POLICIES, DIRECTIONS, SYNC_MODES } from './model.js';

// Names become object keys and CLI arguments (`--sync NAME`). A leading letter
// also keeps JS from reordering integer-like keys, so syncs stay in file order.
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const nameKey = z
  .string()
  .regex(NAME, { error: 'names start with a letter or _ and hold only letters, digits, _ and -' });

export const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

const column = z.string().min(1, { error: 'must be a column name' });
/** A value in `values` / `default`: numbers are read as their decimal text. */
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const deleteAction = z.enum(['propagate', 'ignore']);

const connectionSchema = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .refine((u) => !/^sqlite:\/*$/.test(u), { error: 'a sqlite: URL needs a file path (or :memory:)' })
      .describe('postgres://, postgresql://, mysql://, mariadb:// or sqlite:PATH (relative to this file)'),
    change_detection: z.enum(CHANGE_DETECTION).optional().describe('How changes are found. Default auto.'),
    poll_interval: z
      .string({ error: 'must be a duration such as 500ms, 2s, 1m' })
      .regex(DURATION, { error: 'must be a duration such as 500ms, 2s, 1m' })
      .optional()
      .describe('Wait between polls, e.g. 500ms, 2s, 1m. Default 2s.'),
  })
  .describe('One system: a database reached by its URL.');

const sideSchema = z
  .strictObject({
    connection: nameKey.describe('Name of a connection under connections:'),
    table: z.string().min(1).describe('Table name, plain or schema-qualified'),
    key: column.optional().describe("Unique non-null key column. Default: the table's primary key"),
    external_id: column.optional().describe('Column holding the identity (SOR key, or a user-defined ID)'),
    updated_at: column.optional().describe("Column with the record's last change time"),
    filter: z.string().min(1).optional().describe('SQL boolean expression: only matching records are synced'),
  })
  .describe('One table of one connection.');

const fieldObject = z.strictObject({
  left: column,
  right: column,
  direction: z.enum(DIRECTIONS).optional().describe('Default both'),
  values: z
    .record(z.string(), scalar)
    .optional()
    .describe('Left value → right value; inverted for the other way'),
  default: z
    .strictObject({ left: scalar.optional(), right: scalar.optional() })
    .optional()
    .describe('Written to that side when the value it would get is null'),
  null: z
    .enum(['clear', 'skip'])
    .optional()
    .describe('clear (default): a null overwrites; skip: it does not'),
});

export const fieldEntrySchema = z.union([column, z.tuple([column, column]), fieldObject], {
  error: 'a field is a column name, a [left, right] pair, or { left, right, … }',
});

const deletesSchema = z.union(
  [
    deleteAction,
    z.strictObject({ 'left-to-right': deleteAction.optional(), 'right-to-left': deleteAction.optional() }),
  ],
  { error: 'deletes is propagate, ignore, or { left-to-right: …, right-to-left: … }' },
);

const deleteGuardSchema = z.union(
  [
    z.literal('off'),
    z.strictObject({
      max_fraction: z.number().gt(0).max(1).optional().describe('Default 0.25'),
      min_rows: z.number().int().min(0).optional().describe('Default 10'),
    }),
  ],
  { error: 'delete_guard is off or { max_fraction: 0.25, min_rows: 10 }' },
);

const syncSchema = z
  .strictObject({
    mode: z.enum(SYNC_MODES),
    system_of_record: z
      .enum(['left', 'right'])
      .optional()
      .describe('The side whose key is the identity (SOR mode)'),
    left: sideSchema,
    right: sideSchema,
    fields: z
      .union([z.literal('auto'), z.array(fieldEntrySchema)], { error: 'fields is auto or a list of fields' })
      .describe('auto, or a list: name | [left, right] | { left, right, … }'),
    conflicts: z.enum(CONFLICT_POLICIES).optional(),
    deletes: deletesSchema.optional(),
    delete_guard: deleteGuardSchema.optional(),
  })
  .describe('A named pairing of two sides.');

/** Typed as parsed: only trusted after a successful parse. */
export type RawConfig = z.output<typeof configSchema>;
export type RawSync = z.output<typeof syncSchema>;
export type RawField = z.output<typeof fieldEntrySchema>;

export const configSchema = z
  .strictObject({
    version: z.literal(1).describe('Always 1'),
    state: z
      .string()
      .min(1)
      .optional()
      .describe('Where tandem keeps its state. Default sqlite:.tandem/state.db'),
    connections: z.record(nameKey, connectionSchema),
    syncs: z.record(nameKey, syncSchema),
  })
  // Run even when other parts failed, so one pass reports every fault.
  .superRefine((value, ctx) => crossCheck(value, ctx), { when: () => true });

/** The keys an object at a dotted path may have, for "unknown key" fixes. */
export function allowedKeysAt(path: readonly PropertyKey[]): string[] | undefined {
  const p = path.map(String);
  const at = (...pattern: (string | null)[]) =>
    p.length === pattern.length && pattern.every((s, i) => s === null || s === p[i]);
  if (at()) return Object.keys(configSchema.shape);
  if (at('connections', null)) return Object.keys(connectionSchema.shape);
  if (at('syncs', null)) return Object.keys(syncSchema.shape);
  if (at('syncs', null, 'left') || at('syncs', null, 'right')) return Object.keys(sideSchema.shape);
  if (at('syncs', null, 'fields', null)) return Object.keys(fieldObject.shape);
  if (at('syncs', null, 'fields', null, 'default')) return ['left', 'right'];
  if (at('syncs', null, 'deletes')) return ['left-to-right', 'right-to-left'];
  if (at('syncs', null, 'delete_guard')) return ['max_fraction', 'min_rows'];
  return undefined;
}

/**
 * JSON Schema of the file for editors (refinements are not representable and
 * are left out). Draft-07 because it is what most YAML editors understand.
 */
export function buildJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-07', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}

// ---------------------------------------------------------------------------
// Rules that span keys. The value may be partly invalid here (see `when`
// above), so every access is guarded.

type Ctx = z.RefinementCtx;
type Path = (string | number)[];

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

/** `fix` travels in `params` so load.ts can show a concrete one. */
function issue(ctx: Ctx, path: Path, message: string, fix: string): void {
  ctx.addIssue({ code: 'custom', path, message, params: { fix } });
}

function crossCheck(value: unknown, ctx: Ctx): void {
  if (!isObj(value) || !isObj(value.syncs)) return;
  const connections = isObj(value.connections) ? Object.keys(value.connections) : [];
  // Not when entries were dropped for bad names: that fault is reported already.
  if (Object.keys(value.syncs).length === 0 && !ctx.issues.some((i) => i.path?.[0] === 'syncs')) {
    issue(
      ctx,
      ['syncs'],
      'no sync is defined',
      'add a sync under syncs: (run `tandem init` for a commented example)',
    );
  }
  for (const [name, sync] of Object.entries(value.syncs)) {
    if (isObj(sync)) checkSync(name, sync, connections, ctx);
  }
  checkTablesOnce(value.syncs, isObj(value.connections) ? value.connections : {}, ctx);
}

/**
 * A table's change capture (SQLite's change table, PostgreSQL's saved
 * position and slot, polling's log) is consumed by one reader: a second sync
 * of the same table would find the changes already let go by the first, and
 * silently miss them. Refused until capture keeps a position per sync.
 */
function checkTablesOnce(
  syncs: Record<string, unknown>,
  connections: Record<string, unknown>,
  ctx: Ctx,
): void {
  const seen = new Map<string, string>();
  for (const [name, sync] of Object.entries(syncs)) {
    if (!isObj(sync)) continue;
    for (const side of ['left', 'right'] as const) {
      const s = isObj(sync[side]) ? sync[side] : undefined;
      const conn = str(s?.connection);
      const table = str(s?.table);
      if (conn === undefined || table === undefined) continue;
      const c = connections[conn];
      const where = (isObj(c) ? str(c.url) : undefined) ?? conn;
      const id = `${where}\0${table}`;
      const first = seen.get(id);
      if (first === undefined) {
        seen.set(id, `syncs.${name}.${side}`);
        continue;
      }
      issue(
        ctx,
        ['syncs', name, side, 'table'],
        `table ${table} of connection ${conn} is already synced by ${first}; a table in two syncs is not supported in this version (the first sync would consume the changes the second needs)`,
        `sync ${table} in one sync only (a sync has one table per side)`,
      );
    }
  }
}

function checkSync(name: string, sync: Record<string, unknown>, connections: string[], ctx: Ctx): void {
  const base: Path = ['syncs', name];
  const sides = {
    left: isObj(sync.left) ? sync.left : undefined,
    right: isObj(sync.right) ? sync.right : undefined,
  };

  for (const side of ['left', 'right'] as const) {
    const conn = str(sides[side]?.connection);
    if (conn !== undefined && NAME.test(conn) && !connections.includes(conn)) {
      issue(
        ctx,
        [...base, side, 'connection'],
        `connection "${conn}" is not defined under connections:`,
        connections.length
          ? `use one of: ${connections.join(', ')}, or add connections.${conn} with a url`
          : `add connections.${conn}: { url: … }`,
      );
    }
  }

  const sor = sync.system_of_record;
  if (sync.mode === 'system-of-record') {
    if (sor === undefined) {
      issue(
        ctx,
        [...base, 'system_of_record'],
        'system-of-record mode needs system_of_record: left or right',
        `add under syncs.${name}:  system_of_record: left   # the side whose key is the identity`,
      );
    } else if (sor === 'left' || sor === 'right') {
      const n = sor === 'left' ? 'right' : 'left';
      const nSide = sides[n];
      if (nSide && nSide.external_id === undefined) {
        const table = str(nSide.table) ?? 'that table';
        issue(
          ctx,
          [...base, n, 'external_id'],
          `the ${n} side (not the system of record) needs external_id: the column that holds the ${sor} key`,
          `add under syncs.${name}.${n}:  external_id: ${sor}_id   # the column of ${table} that holds the ${sor} key`,
        );
      }
    }
  } else if (sync.mode === 'external-id') {
    if (sor !== undefined) {
      issue(
        ctx,
        [...base, 'system_of_record'],
        'system_of_record is only allowed with mode: system-of-record',
        `remove system_of_record from syncs.${name}, or set mode: system-of-record`,
      );
    }
    if (sync.conflicts === 'system-of-record') {
      issue(
        ctx,
        [...base, 'conflicts'],
        'conflicts: system-of-record needs mode: system-of-record',
        'use newest-wins (the default for this mode), left-wins, right-wins or manual',
      );
    }
    for (const side of ['left', 'right'] as const) {
      const s = sides[side];
      if (s && s.external_id === undefined) {
        issue(
          ctx,
          [...base, side, 'external_id'],
          `external-id mode needs external_id on both sides; the ${side} side has none`,
          `add under syncs.${name}.${side}:  external_id: <column>   # the column holding the shared ID (an SKU, a customer number)`,
        );
      }
    }
  }

  if (Array.isArray(sync.fields)) checkFields(base, sync.fields, sides, ctx);
}

/** Where an entry names each side's column, with the path of that name (for the line). */
function fieldNames(entry: unknown, i: number): { left?: [string, Path]; right?: [string, Path] } {
  if (typeof entry === 'string') return { left: [entry, [i]], right: [entry, [i]] };
  if (Array.isArray(entry)) {
    const [l, r] = entry;
    return {
      ...(typeof l === 'string' ? { left: [l, [i, 0]] as [string, Path] } : {}),
      ...(typeof r === 'string' ? { right: [r, [i, 1]] as [string, Path] } : {}),
    };
  }
  if (isObj(entry)) {
    const l = str(entry.left);
    const r = str(entry.right);
    return {
      ...(l !== undefined ? { left: [l, [i, 'left']] as [string, Path] } : {}),
      ...(r !== undefined ? { right: [r, [i, 'right']] as [string, Path] } : {}),
    };
  }
  return {};
}

function checkFields(
  base: Path,
  fields: unknown[],
  sides: Record<'left' | 'right', Record<string, unknown> | undefined>,
  ctx: Ctx,
): void {
  const seen = { left: new Map<string, number>(), right: new Map<string, number>() };
  fields.forEach((entry, i) => {
    const names = fieldNames(entry, i);
    for (const side of ['left', 'right'] as const) {
      const found = names[side];
      if (!found) continue;
      const [col, rel] = found;
      const path = [...base, 'fields', ...rel];
      const first = seen[side].get(col);
      if (first !== undefined) {
        issue(
          ctx,
          path,
          `${side} column "${col}" is mapped twice (also fields.${first})`,
          `keep one mapping of ${side} column "${col}": remove fields.${i} or fields.${first}`,
        );
      } else {
        seen[side].set(col, i);
      }
      if (col === str(sides[side]?.external_id)) {
        issue(
          ctx,
          path,
          `"${col}" is the ${side} external_id column; the engine writes it and it cannot be mapped as a field`,
          `remove fields.${i} (the engine keeps ${side}.${col} in step itself)`,
        );
      }
    }
  });
}
