/**
 * The `tandem.yaml` that `tandem init` writes: a working SOR sync between two
 * SQLite files plus a commented-out External ID example, every key explained.
 * It must stay loadable as is (a test loads it), so examples that would fail
 * (unset ${VARS}, tables that need other columns) live in comments only.
 */
export const INIT_TEMPLATE = `# tandem.yaml — what to keep in step, and how. Reference: the project's SPEC.md §2.
# \${VAR} and \${VAR:-default} are replaced from the environment before the file is read.
# Relative paths are relative to this file. Unknown keys are errors.
version: 1

# Where tandem keeps links, bases and quarantine. Default shown; or
# postgres://user@host/db to keep them in a PostgreSQL schema (tandem_state).
state: sqlite:.tandem/state.db

# Each connection is one system. URL schemes: postgres:// postgresql:// mysql://
# mariadb:// sqlite:PATH. Keep passwords out of this file: url: \${APP_DB_URL}
connections:
  left:
    url: sqlite:./left.db
    change_detection: auto    # auto | cdc | triggers | poll — auto picks the best the server allows
    poll_interval: 2s         # between polls, when polling (e.g. 500ms, 2s, 1m)
  right:
    url: sqlite:./right.db

syncs:
  # System of Record mode: the SOR side's primary key is every record's identity;
  # the other side stores that key in its external_id column.
  customers:
    mode: system-of-record
    system_of_record: left           # the side whose key is the identity: left | right
    left:
      connection: left               # a name under connections:
      table: customers               # plain or schema-qualified (public.customers)
      # key: id                      # default: the table's primary key
      # updated_at: updated_at       # last-change time column: newest-wins and polling use it
      # filter: "deleted_at IS NULL" # SQL over this table: only matching records sync
    right:
      connection: right
      table: contacts
      external_id: customer_id       # required on the non-SOR side: holds the left key
    fields:                          # left column ↔ right column; external_id columns are not listed
      - email                        # same name on both sides
      - [name, full_name]            # [left, right] when the names differ
      # - { left: status, right: state, values: { active: A, inactive: I } }   # value map, inverted right→left
      # - { left: notes, right: notes, direction: left-to-right }             # both | left-to-right | right-to-left
      # - { left: phone, right: phone, null: skip, default: { right: "n/a" } } # skip: a null never overwrites
    conflicts: system-of-record      # system-of-record (default here) | newest-wins | left-wins | right-wins | manual
    deletes: propagate               # propagate | ignore | { left-to-right: propagate, right-to-left: ignore }
    delete_guard: { max_fraction: 0.25, min_rows: 10 }   # pause when a pass would delete more; or: off

  # External ID mode: neither side is the authority; records match on a shared
  # value (an SKU, a customer number) held in external_id on both sides.
  # products:
  #   mode: external-id
  #   left:  { connection: left,  table: products, external_id: sku, updated_at: updated_at }
  #   right: { connection: right, table: items,    external_id: item_code }
  #   fields: auto                   # every column named alike on both sides, keys excluded
  #   conflicts: newest-wins         # default for this mode: the later change wins, a tie goes to left
`;
