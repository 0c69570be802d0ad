/**
 * Everything one sync's pass needs: its model, the two connectors, the state
 * store and a logger. Built by open.ts from the config.
 */
import type pino from 'pino';
import type { Connector } from '../connectors/connector.js';
import type { SyncModel } from '../core/model.js';
import type { Side } from '../core/types.js';
import type { StateStore } from '../state/store.js';
import type { CommitPipeline } from './pipeline.js';

export interface SyncContext {
  model: SyncModel;
  connectors: Record<Side, Connector>;
  store: StateStore;
  log: pino.Logger;
  /** ISO-8601 UTC now; injected so simulations control time. */
  clock: () => string;
  newToken?: () => string;
  /** This sync's batch commits in flight (one per sync context). */
  pipeline: CommitPipeline;
}
