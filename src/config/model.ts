/**
 * The resolved configuration the engine works from: defaults applied, names
 * resolved, paths absolute. The YAML schema (schema.ts) parses into this.
 */
import type { Canonical, Side } from '../core/types.js';

export const SYNC_MODES = ['system-of-record', 'external-id'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export const CONFLICT_POLICIES = [
  'system-of-record',
  'newest-wins',
  'left-wins',
  'right-wins',
  'manual',
] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];

export const DIRECTIONS = ['both', 'left-to-right', 'right-to-left'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const CHANGE_DETECTION = ['auto', 'cdc', 'triggers', 'poll'] as const;
export type ChangeDetection = (typeof CHANGE_DETECTION)[number];

export type DeleteAction = 'propagate' | 'ignore';

export interface ConnectionConfig {
  name: string;
  /** With `${VAR}` already replaced; relative sqlite: paths made absolute. */
  url: string;
  changeDetection: ChangeDetection;
  pollIntervalMs: number;
}

export interface SideConfig {
  connection: string;
  table: string;
  /** Undefined: the table's primary key. */
  key?: string;
  externalId?: string;
  updatedAt?: string;
  filter?: string;
}

export interface FieldConfig {
  left: string;
  right: string;
  direction: Direction;
  /** Left value (canonical text) → right value. Inverted for right → left. */
  values?: Record<string, Canonical>;
  /** Written to that side when the value it would get is null. */
  default?: { left?: Canonical; right?: Canonical };
  null: 'clear' | 'skip';
}

export interface DeleteGuard {
  maxFraction: number;
  minRows: number;
}

export interface SyncConfig {
  name: string;
  mode: SyncMode;
  /** Set in system-of-record mode only. */
  systemOfRecord?: Side;
  left: SideConfig;
  right: SideConfig;
  fields: FieldConfig[] | 'auto';
  conflicts: ConflictPolicy;
  /** What a delete on one side does to the other: keyed by the direction it travels. */
  deletes: { leftToRight: DeleteAction; rightToLeft: DeleteAction };
  /** null: `delete_guard: off`. */
  deleteGuard: DeleteGuard | null;
}

export interface TandemConfig {
  version: 1;
  /** Absolute path of the config file. */
  path: string;
  /** `sqlite:/abs/path` or `postgres://…`. */
  state: string;
  connections: Record<string, ConnectionConfig>;
  syncs: SyncConfig[];
}
