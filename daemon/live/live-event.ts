import type {
  CurrentSwitchedEvent,
  DaemonShutdownEvent,
  LiveHeader,
  SessionChangedEvent,
  SessionCreatedEvent,
  SessionRemovedEvent,
  WorkflowFileChangedEvent,
} from '../../protocol/events.js';
import type { RosterChangedEvent } from '../../protocol/roster.js';

type Body<T> = Omit<T, keyof LiveHeader>;

/** An event ready to publish: its kind and its body without the per-subscription header. */
export type LiveEvent =
  | { kind: 'created'; body: Body<SessionCreatedEvent> }
  | { kind: 'changed'; body: Body<SessionChangedEvent> }
  | { kind: 'removed'; body: Body<SessionRemovedEvent> }
  | { kind: 'switched'; body: Body<CurrentSwitchedEvent> }
  | { kind: 'workflowFile'; body: Body<WorkflowFileChangedEvent> }
  | { kind: 'shutdown'; body: Body<DaemonShutdownEvent> }
  /** Only to subscriptions that asked for the roster. */
  | { kind: 'roster'; body: Body<RosterChangedEvent> };
