/**
 * The workflow engine's state transitions, as pure functions: each takes the current state, the
 * session's frozen workflow definition and the time, and returns a new state, the log events to
 * append and a message, or throws an OrchError. No file I/O happens here; the daemon loads and
 * saves under the session lock, and runs verification (verification.ts) outside it.
 *
 * The rules follow the Python tool (reference §3) except for its documented defects: see the
 * README's list of differences.
 */
export { type OpResult, MAX_TEXT_CHARS } from './ops-common.js';
export {
  COMMAND_TIMEOUT_MS,
  approveItem,
  completeItem,
  planComplete,
  type CompleteOptions,
  type CompletePlan,
  type VerificationOutcome,
} from './ops-complete.js';
export {
  MIN_DOCUMENTED_REASON_CHARS,
  MIN_FORCE_GATE_REASON_CHARS,
  MIN_SKIP_REASON_CHARS,
  documentedReasonProblem,
  skipItem,
  type SkipOptions,
} from './ops-skip.js';
export {
  AWAITING_APPROVAL,
  abandonWorkflow,
  advancePhase,
  approvePhase,
  canAdvance,
  finishWorkflow,
  type AdvanceCheck,
  type FinishOptions,
} from './ops-phase.js';
