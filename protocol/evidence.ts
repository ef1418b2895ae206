import { RequestType } from 'vscode-jsonrpc';
import type { OrchErrorData } from './errors.js';
import type { ItemVerifyParams } from './params.js';
import type { OperationResult } from './workflow.js';

/** Params declared once in params.ts (zod), re-exported here as a type. */
export type { ItemVerifyParams };

/**
 * The fingerprint of the working tree a check ran on, stored with its result
 * (`verification_result.evidence` / `gate_result.evidence`) and in its `log.jsonl` event.
 */
export interface EvidenceView {
  /** HEAD commit; null outside git or before the first commit. */
  head: string | null;
  /** git tree id of the working tree (tracked, modified, deleted and untracked-but-not-ignored files); null when unbound. */
  tree: string | null;
  method: 'git-tree' | 'unbound';
  computedAt: string;
  ms: number;
  reason?: string;
}

/** One re-run check of `item/verify`. */
export interface VerifiedItem {
  itemId: string;
  passed: boolean;
  /** `passed`, or why it failed. */
  detail: string;
}

export interface ItemVerifyResult extends OperationResult {
  verified: VerifiedItem[];
  /** The tree the checks ran on. */
  evidence: EvidenceView | null;
}

/**
 * Re-runs the checks of completed items of the current phase (all by default) and refreshes their
 * evidence; an item that passes stays completed, one that fails is marked failed. Fails with
 * `VerificationFailed` (recorded), `ItemNotFound`, `InvalidTransition` (item not completed, or has no check).
 */
export const ItemVerifyRequest = new RequestType<ItemVerifyParams, ItemVerifyResult, OrchErrorData>('item/verify');
