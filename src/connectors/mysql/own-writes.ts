/**
 * How binlog capture knows tandem's own writes, so they never come back as
 * changes (no echoes): the connector's write connection runs these once,
 * right after connecting.
 *
 * MariaDB's `skip_replication` session flag sets LOG_EVENT_SKIP_REPLICATION_F
 * on every event the session writes. The flag is meant for exactly this
 * (changes an outside tool makes that a replica should not get back), and a
 * dump connection that runs `SET skip_replication = 1` itself (the capture
 * stream does, binlog-stream.ts) is not sent such events at all: the server
 * filters them, so a first sync's million inserts never cross the wire, and
 * the heartbeat's position still moves past them. It needs no privilege on
 * MariaDB 10.11 (tested with a user holding only REPLICATION SLAVE,
 * REPLICATION CLIENT and DML rights).
 *
 * Chosen over the alternatives, tried on MariaDB 10.11:
 * - a session `server_id` of tandem's own: needs SUPER or BINLOG REPLAY, and
 *   an id no real server has (a replica with that id would drop tandem's
 *   writes; a replication ring would loop them); zongji shows it only on
 *   MariaDB GTID events, and every event would still be sent and decoded;
 * - a GTID domain of tandem's own (`gtid_domain_id`): SUPER or BINLOG
 *   REPLAY again, and a new domain on the server changes every replica's
 *   GTID position for good;
 * - zongji does not expose event header flags, so the flag itself could not
 *   be read on tandem's side anyway.
 *
 * What it costs: replicas configured with `replicate_events_marked_for_skip`
 * other than REPLICATE (the default) would not get tandem's writes; and any
 * other session that sets skip_replication is invisible to tandem too.
 *
 * MySQL has no skip_replication: the statement fails there (unknown system
 * variable, errno 1193). The connector then writes untagged and its writes
 * come back through capture, where the base fingerprints recognise them and
 * nothing is written twice. The connector should treat errno 1193 and 1227
 * (access denied) as "untagged", not as a failure to connect.
 */
export const OWN_WRITES_SQL: string[] = ['SET SESSION skip_replication = 1'];

/** Errors of OWN_WRITES_SQL that mean "this server cannot tag": write untagged. */
export const OWN_WRITES_UNSUPPORTED_ERRNOS: readonly number[] = [1193, 1227];
