/**
 * What the CLI contract tests share: the commands SPEC §3 lists, a config
 * with two syncs over the same two SQLite files, and a result's whole output.
 */
import { extSchema } from './ext-helpers.js';
import { SOR_SCHEMA, type Workspace } from './harness.js';

export const COMMANDS = [
  'demo',
  'init',
  'validate',
  'run',
  'status',
  'errors',
  'retry',
  'reconcile',
  'trace',
  'teardown',
];

/** Two syncs over the same two files: `products` (External ID) and `customers` (SOR). */
export function twoSyncsConfig(extraSyncs = ''): string {
  return `version: 1
connections:
  app: { url: sqlite:./app.db }
  crm: { url: sqlite:./crm.db }
syncs:
  products:
    mode: external-id
    left:  { connection: app, table: products, external_id: sku }
    right: { connection: crm, table: items, external_id: code }
    fields: [title, price]
  customers:
    mode: system-of-record
    system_of_record: left
    left:  { connection: app, table: customers }
    right: { connection: crm, table: contacts, external_id: app_id }
    fields: [email, [name, full_name]]
${extraSyncs}`;
}

export function setupTwoSyncs(ws: Workspace, extraSyncs = ''): void {
  const ext = extSchema();
  ws.exec('app.db', ext.app + SOR_SCHEMA.app);
  ws.exec('crm.db', ext.crm + SOR_SCHEMA.crm);
  ws.writeConfig(twoSyncsConfig(extraSyncs));
}

export const output = (r: { stdout: string; stderr: string }): string => r.stdout + r.stderr;
