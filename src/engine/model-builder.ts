/**
 * Joins a sync's config with what the databases say (tables, columns, keys,
 * kinds) into the SyncModel the engine runs. Every fault found here names the
 * config path it is at and how to fix it (exit 3: it needs the databases).
 */
import type { SideConfig, SyncConfig } from '../config/model.js';
import type { Connector } from '../connectors/connector.js';
import { TandemError } from '../core/errors.js';
import { buildFields, type SideModel, type SyncModel } from '../core/model.js';
import type { ColumnKind, Side, TableInfo } from '../core/types.js';

export interface Warning {
  path: string;
  message: string;
  fix: string;
}

export interface BuiltModel {
  model: SyncModel;
  warnings: Warning[];
  tables: Record<Side, TableInfo>;
}

export async function buildSyncModel(
  sync: SyncConfig,
  connectors: Record<Side, Connector>,
): Promise<BuiltModel> {
  const warnings: Warning[] = [];
  const tables = {} as Record<Side, TableInfo>;
  const sides = {} as Record<Side, SideModel>;
  for (const side of ['left', 'right'] as const) {
    const cfg = sync[side];
    const path = `syncs.${sync.name}.${side}`;
    const info = await connectors[side].introspect(cfg.table);
    if (!info) {
      throw new TandemError(
        'TABLE_MISSING',
        `table ${cfg.table} does not exist in ${connectors[side].description}`,
        `create the table, or correct \`table:\` at ${path}.table`,
        `${path}.table`,
      );
    }
    tables[side] = info;
    sides[side] = buildSide(side, cfg, info, path, warnings, connectors[side]);
  }
  const pairs = fieldPairs(sync, tables);
  for (const [i, p] of pairs.entries()) {
    for (const side of ['left', 'right'] as const) {
      const col = p[side];
      if (!tables[side].columns.some((c) => c.name === col)) {
        throw new TandemError(
          'COLUMN_MISSING',
          `mapped column ${col} does not exist in ${side} table ${sync[side].table}`,
          `add the column, or correct the mapping at syncs.${sync.name}.fields[${i}]`,
          `syncs.${sync.name}.fields.${i}.${side}`,
        );
      }
    }
  }
  const kindOf = (side: Side, col: string): ColumnKind =>
    tables[side].columns.find((c) => c.name === col)!.kind;
  const fields = buildFields(
    sync,
    pairs.map((p) => ({ ...p, leftKind: kindOf('left', p.left), rightKind: kindOf('right', p.right) })),
  );
  const model: SyncModel = {
    name: sync.name,
    mode: sync.mode,
    ...(sync.systemOfRecord ? { sor: sync.systemOfRecord } : {}),
    left: sides.left,
    right: sides.right,
    fields,
    conflicts: sync.conflicts,
    deletes: sync.deletes,
    deleteGuard: sync.deleteGuard,
  };
  if (model.mode === 'system-of-record') {
    const sorKey = sides[model.sor!];
    if (!sorKey.key) throw new TandemError('KEY_INVALID', 'the system of record needs a key', 'set `key:`');
  }
  // Every column the engine reads, once.
  for (const side of ['left', 'right'] as const) {
    const s = sides[side];
    const cols = new Set<string>([s.key]);
    if (s.externalId) cols.add(s.externalId);
    if (s.updatedAt) cols.add(s.updatedAt);
    for (const f of fields) cols.add(f[side]);
    s.spec.columns = [...cols];
    s.spec.kinds = Object.fromEntries([...cols].map((c) => [c, kindOf(side, c)]));
    if (s.updatedAt) s.spec.updatedAt = s.updatedAt;
  }
  return { model, warnings, tables };
}

function buildSide(
  side: Side,
  cfg: SideConfig,
  info: TableInfo,
  path: string,
  warnings: Warning[],
  connector: Connector,
): SideModel {
  const has = (col: string) => info.columns.find((c) => c.name === col);
  let key = cfg.key;
  if (!key) {
    if (info.primaryKey.length !== 1) {
      throw new TandemError(
        'KEY_INVALID',
        `table ${cfg.table} has ${info.primaryKey.length === 0 ? 'no primary key' : `a ${info.primaryKey.length}-column primary key`}; tandem needs one key column per side`,
        `name a unique, non-null column with \`key:\` at ${path}.key`,
        `${path}.key`,
      );
    }
    key = info.primaryKey[0]!;
  }
  const keyCol = has(key);
  if (!keyCol) {
    throw new TandemError(
      'COLUMN_MISSING',
      `key column ${key} does not exist in ${cfg.table}`,
      `correct \`key:\` at ${path}.key`,
      `${path}.key`,
    );
  }
  for (const [what, col] of [
    ['external_id', cfg.externalId],
    ['updated_at', cfg.updatedAt],
  ] as const) {
    if (col && !has(col)) {
      throw new TandemError(
        'COLUMN_MISSING',
        `${what} column ${col} does not exist in ${cfg.table} (${connector.description})`,
        `add it (e.g. ALTER TABLE ${cfg.table} ADD COLUMN ${col} TEXT), or correct \`${what}:\` at ${path}.${what}`,
        `${path}.${what}`,
      );
    }
  }
  if (cfg.externalId) {
    const idx = info.uniqueIndexes.filter((u) => u.columns.length === 1 && u.columns[0] === cfg.externalId);
    if (idx.length === 0 && !(info.primaryKey.length === 1 && info.primaryKey[0] === cfg.externalId)) {
      warnings.push({
        path: `${path}.external_id`,
        message: `${cfg.table}.${cfg.externalId} has no unique index: duplicates are possible (they are quarantined)`,
        fix: `CREATE UNIQUE INDEX ${cfg.table.replace(/\W/g, '_')}_${cfg.externalId}_key ON ${cfg.table} (${cfg.externalId});`,
      });
    } else if (idx.every((u) => u.caseInsensitive)) {
      warnings.push({
        path: `${path}.external_id`,
        message: `the unique index on ${cfg.table}.${cfg.externalId} is case-insensitive, but tandem compares external IDs exactly ('SKU-a' and 'SKU-A' differ)`,
        fix: 'make the index case-sensitive (drop COLLATE NOCASE / use a binary collation)',
      });
    }
  }
  const model: SideModel = {
    side,
    connection: cfg.connection,
    table: cfg.table,
    key,
    keyKind: keyCol.kind,
    spec: { table: cfg.table, key, columns: [], kinds: {}, ...(cfg.filter ? { filter: cfg.filter } : {}) },
  };
  if (cfg.externalId) {
    model.externalId = cfg.externalId;
    model.externalIdKind = has(cfg.externalId)!.kind;
    model.externalIdUnique =
      info.uniqueIndexes.some(
        (u) => u.columns.length === 1 && u.columns[0] === cfg.externalId && !u.caseInsensitive,
      ) ||
      (info.primaryKey.length === 1 && info.primaryKey[0] === cfg.externalId);
  }
  if (cfg.updatedAt) model.updatedAt = cfg.updatedAt;
  if (cfg.filter) model.filter = cfg.filter;
  return model;
}

/** Field pairs from the config, or for `fields: auto` every column named alike, keys and identity columns excluded. */
function fieldPairs(sync: SyncConfig, tables: Record<Side, TableInfo>): { left: string; right: string }[] {
  if (sync.fields !== 'auto') return sync.fields.map((f) => ({ left: f.left, right: f.right }));
  const reserved = (side: Side) => {
    const s = sync[side];
    const t = tables[side];
    return new Set([s.key ?? t.primaryKey[0], s.externalId, s.updatedAt].filter(Boolean) as string[]);
  };
  const lr = reserved('left');
  const rr = reserved('right');
  const right = new Set(tables.right.columns.map((c) => c.name));
  return tables.left.columns
    .map((c) => c.name)
    .filter((n) => right.has(n) && !lr.has(n) && !rr.has(n))
    .map((n) => ({ left: n, right: n }));
}
