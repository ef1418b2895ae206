/** Wraps a unit of work so the daemon knows work is running (no idle exit, drain on shutdown). */
export type Tracker = <T>(work: () => Promise<T>) => Promise<T>;
