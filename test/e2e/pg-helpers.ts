/**
 * What the PostgreSQL ↔ SQLite e2e tests share: PostgreSQL `customers` as the
 * System of Record (left), SQLite `contacts` on the other side with the
 * PostgreSQL key in `app_id`.
 */
import type { Workspace } from './harness.js';

/** tandem.yaml for that pairing, syncing `fields` (YAML list items, as in the config). */
export function writePgSorConfig(ws: Workspace, pgUrl: string, fields: string): void {
  ws.writeConfig(`version: 1
connections:
  app: { url: "${pgUrl}" }
  crm: { url: sqlite:./crm.db }
syncs:
  customers:
    mode: system-of-record
    system_of_record: left
    left:  { connection: app, table: customers }
    right: { connection: crm, table: contacts, external_id: app_id }
    fields: [${fields}]
`);
}
