/**
 * Every error a user can see carries a stable code and a fix. The codes are
 * listed here once, each with the exit code it leads to (SPEC §3).
 */

export const EXIT = {
  ok: 0,
  failure: 1,
  config: 2,
  connection: 3,
  quarantine: 4,
  guard: 5,
} as const;

export const ERROR_CODES = {
  CONFIG_NOT_FOUND: { exit: EXIT.config, doc: 'The config file does not exist.' },
  CONFIG_SYNTAX: { exit: EXIT.config, doc: 'The config file is not valid YAML.' },
  CONFIG_INVALID: { exit: EXIT.config, doc: 'The config file breaks a rule of its schema.' },
  CONFIG_ENV: {
    exit: EXIT.config,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the text names the ${VAR} syntax of the config.
    doc: 'A ${VAR} in the config names a variable that is not set and has no default.',
  },
  SYNC_UNKNOWN: { exit: EXIT.config, doc: 'A --sync option names a sync the config does not have.' },
  CONNECT_FAILED: { exit: EXIT.connection, doc: 'A connection could not be opened.' },
  URL_UNSUPPORTED: { exit: EXIT.config, doc: 'A connection URL names a system tandem does not support yet.' },
  TABLE_MISSING: { exit: EXIT.connection, doc: 'A configured table does not exist.' },
  COLUMN_MISSING: { exit: EXIT.connection, doc: 'A configured or mapped column does not exist.' },
  KEY_INVALID: { exit: EXIT.connection, doc: 'A side has no usable single-column key.' },
  TYPE_MISMATCH: { exit: EXIT.connection, doc: 'A mapped type pair cannot round-trip in both directions.' },
  CAPTURE_UNAVAILABLE: {
    exit: EXIT.connection,
    doc: 'Change capture cannot be set up: a server setting or a right of the connecting role is missing.',
  },
  CAPTURE_CLAIMED: {
    exit: EXIT.connection,
    doc: 'Another tandem state already captures changes of this table; two would each let go of changes the other has not read.',
  },
  TABLE_UNSUPPORTED: {
    exit: EXIT.connection,
    doc: 'A configured table cannot be synced safely as it is (e.g. a storage engine without transactions).',
  },
  SCHEMA_DRIFT: {
    exit: EXIT.connection,
    doc: 'A mapped column disappeared or changed type since the last pass.',
  },
  SERVER_ERROR: {
    exit: EXIT.connection,
    doc: 'A database server failed a statement for a reason of its own (a full disk, a lost temporary file, a lock wait timeout): its message says which.',
  },
  STATE_VERSION: { exit: EXIT.failure, doc: 'The state store was written by a newer tandem.' },
  INTERNAL: { exit: EXIT.failure, doc: 'A bug in tandem.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class TandemError extends Error {
  readonly code: ErrorCode;
  readonly fix: string;
  /** Dotted config path the fault is at, when there is one. */
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, fix: string, path?: string) {
    super(message);
    this.name = 'TandemError';
    this.code = code;
    this.fix = fix;
    this.path = path;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  /** `[CODE] message (at path)\n  fix: …` — the one format errors are shown in. */
  format(): string {
    const at = this.path ? ` (at ${this.path})` : '';
    return `[${this.code}] ${this.message}${at}\n  fix: ${this.fix}`;
  }
}
