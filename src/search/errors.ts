import { LernenError } from '../tensor/errors';

/** A search space, sampler, pruner, budget or study definition is invalid (raised before any trial starts). */
export class SearchError extends LernenError {}

/** A storage could not be opened, or a study does not fit the one stored under its name. */
export class StorageError extends LernenError {}

/**
 * Thrown by an objective (or by `trial.prune()`) to end the trial as pruned. The trial keeps its
 * best intermediate value.
 */
export class TrialPruned extends LernenError {
  constructor(message = 'trial pruned') {
    super(message);
  }
}
