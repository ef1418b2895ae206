/**
 * Wire protocol version. Bumped on any breaking change to a message in `protocol/`.
 * Client and daemon compare it in `daemon/hello`; a mismatch makes the client replace the daemon.
 */
export const PROTOCOL_VERSION = 1;

/** orch's own version, reported by `orch --version` and recorded in `.orchestrator/meta.json`. */
export const ORCH_VERSION = '0.1.0';
