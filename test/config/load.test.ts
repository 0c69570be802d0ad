// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about ${VAR} text.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interpolate } from '../../src/config/interpolate.js';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { ConfigInvalidError, loadConfig, parseConfig, resolveSqliteUrl } from '../../src/config/load.js';
import type { TandemConfig } from '../../src/config/model.js';
import { INIT_TEMPLATE } from '../../src/config/template.js';
import type { TandemError } from '../../src/core/errors.js';

const FILE = '/etc/tandem/tandem.yaml';

// SPEC §2's example, verbatim.
const SPEC_EXAMPLE = `version: 1
state: sqlite:.tandem/state.db         # default; or postgres://… for shared state (several workers)

connections:
  app:
    url: postgres://app@localhost/app  # postgres:// postgresql:// mysql:// mariadb:// sqlite:
  crm:
    url: \${CRM_URL}
    change_detection: auto             # auto | cdc | triggers | poll  (default auto)
    poll_interval: 2s                  # used when polling

syncs:
  customers:
    mode: system-of-record
    system_of_record: left
    left:
      connection: app
      table: public.customers          # schema-qualified or plain
      key: id                          # default: the table's primary key
    right:
      connection: crm
      table: contacts
      external_id: app_customer_id     # holds the SOR key
    fields:                            # left: right, in order
      - email                          # same name on both sides
      - [name, full_name]
      - { left: status, right: state, values: { active: A, inactive: I } }
      - { left: notes, right: notes, direction: left-to-right }
    conflicts: system-of-record        # default for this mode
    deletes: propagate                 # propagate | ignore | {left-to-right: …, right-to-left: …}
    delete_guard: { max_fraction: 0.2, min_rows: 20 }

  products:
    mode: external-id
    left:  { connection: app, table: products, external_id: sku, updated_at: updated_at }
    right: { connection: crm, table: items,    external_id: item_code }
    fields: auto                       # every column named alike on both sides, keys excluded
    conflicts: newest-wins             # default for this mode
`;

/** A minimal valid file with one SOR sync; `extra` lines are appended to the customers sync. */
const minimal = (side = '      external_id: left_id', extra = '') => `version: 1
connections:
  a: { url: "sqlite:a.db" }
syncs:
  customers:
    mode: system-of-record
    system_of_record: left
    left:
      connection: a
      table: customers
    right:
      connection: a
      table: contacts
${side}
    fields:
      - email
${extra}`;

function invalid(text: string): ConfigInvalidError {
  try {
    parseConfig(text, FILE, {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigInvalidError);
    return err as ConfigInvalidError;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('loadConfig', () => {
  it('loads the SPEC §2 example into the resolved model', () => {
    const cfg = parseConfig(SPEC_EXAMPLE, FILE, { CRM_URL: 'mysql://crm@db/crm' });
    const expected: TandemConfig = {
      version: 1,
      path: FILE,
      state: 'sqlite:/etc/tandem/.tandem/state.db',
      connections: {
        app: {
          name: 'app',
          url: 'postgres://app@localhost/app',
          changeDetection: 'auto',
          pollIntervalMs: 2000,
        },
        crm: { name: 'crm', url: 'mysql://crm@db/crm', changeDetection: 'auto', pollIntervalMs: 2000 },
      },
      syncs: [
        {
          name: 'customers',
          mode: 'system-of-record',
          systemOfRecord: 'left',
          left: { connection: 'app', table: 'public.customers', key: 'id' },
          right: { connection: 'crm', table: 'contacts', externalId: 'app_customer_id' },
          fields: [
            { left: 'email', right: 'email', direction: 'both', null: 'clear' },
            { left: 'name', right: 'full_name', direction: 'both', null: 'clear' },
            {
              left: 'status',
              right: 'state',
              direction: 'both',
              null: 'clear',
              values: { active: 'A', inactive: 'I' },
            },
            { left: 'notes', right: 'notes', direction: 'left-to-right', null: 'clear' },
          ],
          conflicts: 'system-of-record',
          deletes: { leftToRight: 'propagate', rightToLeft: 'propagate' },
          deleteGuard: { maxFraction: 0.2, minRows: 20 },
        },
        {
          name: 'products',
          mode: 'external-id',
          left: { connection: 'app', table: 'products', externalId: 'sku', updatedAt: 'updated_at' },
          right: { connection: 'crm', table: 'items', externalId: 'item_code' },
          fields: 'auto',
          conflicts: 'newest-wins',
          deletes: { leftToRight: 'propagate', rightToLeft: 'propagate' },
          deleteGuard: { maxFraction: 0.25, minRows: 10 },
        },
      ],
    };
    expect(cfg).toStrictEqual(expected);
  });

  it('applies defaults and resolves field options', () => {
    const cfg = parseConfig(
      minimal(
        '      external_id: left_id',
        `      - { left: st, right: st, values: { 1: 1.50, on: true, x: null }, default: { right: 0 }, null: skip }
    deletes: { right-to-left: ignore }
    delete_guard: off`,
      ).replace(
        'a: { url: "sqlite:a.db" }',
        'a: { url: "sqlite:a.db", poll_interval: 500ms, change_detection: poll }',
      ),
      FILE,
      {},
    );
    expect(cfg.connections.a).toMatchObject({ pollIntervalMs: 500, changeDetection: 'poll' });
    const sync = cfg.syncs[0]!;
    expect(sync.conflicts).toBe('system-of-record');
    expect(sync.deletes).toEqual({ leftToRight: 'propagate', rightToLeft: 'ignore' });
    expect(sync.deleteGuard).toBeNull();
    expect(sync.fields).toEqual([
      { left: 'email', right: 'email', direction: 'both', null: 'clear' },
      {
        left: 'st',
        right: 'st',
        direction: 'both',
        null: 'skip',
        values: { 1: '1.5', on: true, x: null },
        default: { right: '0' },
      },
    ]);
  });

  it('replaces ${VAR} and ${VAR:-default}', () => {
    const text = minimal().replace('"sqlite:a.db"', '"sqlite:${DB:-fallback.db}"');
    expect(parseConfig(text, FILE, {}).connections.a!.url).toBe('sqlite:/etc/tandem/fallback.db');
    expect(parseConfig(text, FILE, { DB: 'set.db' }).connections.a!.url).toBe('sqlite:/etc/tandem/set.db');
    expect(interpolate('a: $${X} ${Y:-}', {})).toBe('a: ${X} ');
    expect(interpolate('# ${UNSET}\nb: 1', {})).toBe('# ${UNSET}\nb: 1');
  });

  it('names a missing env var and its line', () => {
    const err = (() => {
      try {
        parseConfig(minimal().replace('"sqlite:a.db"', '${NOPE}'), FILE, {});
      } catch (e) {
        return e as TandemError;
      }
    })();
    expect(err?.code).toBe('CONFIG_ENV');
    expect(err?.message).toContain('${NOPE} on line 3');
    expect(err?.fix).toContain('export NOPE');
    expect(err?.exitCode).toBe(2);
  });

  it('rejects an unknown key with its path, line and the allowed keys', () => {
    const err = invalid(minimal('      external_id: left_id\n      extrnal_id: x'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.path).toBe('syncs.customers.right.extrnal_id');
    expect(err.message).toContain('syncs.customers.right.extrnal_id (line 15): unknown key "extrnal_id"');
    expect(err.fix).toContain('did you mean "external_id"');
    expect(err.fix).toContain('connection, table, key, external_id, updated_at, filter');
  });

  it('requires external_id on the non-SOR side', () => {
    const err = invalid(minimal(''));
    expect(err.path).toBe('syncs.customers.right.external_id');
    expect(err.message).toContain('syncs.customers.right.external_id (line 11)');
    expect(err.fix).toContain('external_id: left_id');
  });

  it('rejects system_of_record in external-id mode, and needs external_id on both sides', () => {
    const err = invalid(minimal().replace('mode: system-of-record', 'mode: external-id'));
    expect(err.issues.map((i) => [i.path, i.line])).toEqual([
      ['syncs.customers.system_of_record', 7],
      ['syncs.customers.left.external_id', 8],
    ]);
  });

  it('rejects a field named twice on one side', () => {
    const err = invalid(minimal(undefined, '      - [email, email2]'));
    expect(err.path).toBe('syncs.customers.fields.1.0');
    expect(err.message).toContain('(line 17): left column "email" is mapped twice');
  });

  it('rejects the external-ID column mapped as a field', () => {
    const err = invalid(minimal(undefined, '      - { left: x, right: left_id }'));
    expect(err.path).toBe('syncs.customers.fields.1.right');
    expect(err.message).toContain('right external_id column');
  });

  it('rejects an undefined connection and lists every issue at once', () => {
    const err = invalid(
      minimal().replace('connection: a\n      table: contacts', 'connection: b\n      table: contacts') +
        '    bogus: 1\n',
    );
    expect(err.issues.map((i) => i.path)).toEqual([
      'syncs.customers.right.connection',
      'syncs.customers.bogus',
    ]);
    expect(err.fix).toContain('use one of: a');
  });

  it('reports a missing required key at its parent', () => {
    const err = invalid(minimal().replace('      table: customers\n', ''));
    expect(err.issues[0]).toMatchObject({ path: 'syncs.customers.left.table', line: 8 });
    expect(err.fix).toContain('add under syncs.customers.left:  table:');
  });

  it('explains a field entry of the wrong shape', () => {
    const err = invalid(minimal(undefined, '      - { left: a, rihgt: b }'));
    expect(err.issues.map((i) => i.path)).toEqual([
      'syncs.customers.fields.1.right',
      'syncs.customers.fields.1.rihgt',
    ]);
  });

  it('fails with CONFIG_NOT_FOUND for a missing file', () => {
    expect(() => loadConfig('/nonexistent/tandem.yaml', {})).toThrow(
      expect.objectContaining({ code: 'CONFIG_NOT_FOUND', fix: expect.stringContaining('tandem init') }),
    );
  });

  it('fails with CONFIG_SYNTAX and the line for bad YAML', () => {
    expect(() => parseConfig('version: 1\nconnections:\n  a: [1, 2\n', FILE, {})).toThrow(
      expect.objectContaining({ code: 'CONFIG_SYNTAX' }),
    );
    expect(() => parseConfig('version: 1\nversion: 1\n', FILE, {})).toThrow(/line 2/);
  });

  it('makes relative sqlite paths absolute against the config directory', () => {
    expect(resolveSqliteUrl('sqlite:./a.db', '/cfg')).toBe('sqlite:/cfg/a.db');
    expect(resolveSqliteUrl('sqlite:a.db', '/cfg')).toBe('sqlite:/cfg/a.db');
    expect(resolveSqliteUrl('sqlite:../x/a.db?mode=ro', '/cfg')).toBe('sqlite:/x/a.db?mode=ro');
    expect(resolveSqliteUrl('sqlite:///abs/path.db', '/cfg')).toBe('sqlite:/abs/path.db');
    expect(resolveSqliteUrl('sqlite:/abs/path.db', '/cfg')).toBe('sqlite:/abs/path.db');
    expect(resolveSqliteUrl('sqlite::memory:', '/cfg')).toBe('sqlite::memory:');
    expect(resolveSqliteUrl('postgres://h/db', '/cfg')).toBe('postgres://h/db');
  });

  it('loads the init template from disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-cfg-'));
    writeFileSync(join(dir, 'tandem.yaml'), INIT_TEMPLATE);
    const cfg = loadConfig(join(dir, 'tandem.yaml'), {});
    expect(cfg.connections.left!.url).toBe(`sqlite:${join(dir, 'left.db')}`);
    expect(cfg.state).toBe(`sqlite:${join(dir, '.tandem/state.db')}`);
    expect(cfg.syncs.map((s) => s.name)).toEqual(['customers']);
  });

  it('produces a JSON Schema that forbids unknown keys', () => {
    const schema = configJsonSchema() as { additionalProperties?: boolean; required?: string[] };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['version', 'connections', 'syncs']);
  });

  it('ships a schema/tandem.schema.json that matches the zod schema', () => {
    const shipped = JSON.parse(
      readFileSync(new URL('../../schema/tandem.schema.json', import.meta.url), 'utf8'),
    );
    expect(shipped).toEqual(configJsonSchema());
  });
});
