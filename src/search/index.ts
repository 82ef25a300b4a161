/**
 * Hyperparameter search: spaces, samplers (grid, random, TPE), pruners (median, ASHA, Hyperband),
 * wall-clock budgets stored with the study, storages (in-memory, SQLite file, PostgreSQL),
 * parallel worker processes with heartbeats, and the built-in MNIST objective.
 *
 * ```ts
 * const s = search.study({ name: 'mnist-lr', space: { lr: search.logUniform(1e-4, 1e-1), batchSize: [32, 64, 128] }, sampler: 'tpe', pruner: 'asha' });
 * const { best } = await s.optimize('mnist', { budgetMs: 10 * 60e3, maxEpochs: 5, workers: 2 });
 * ```
 */
export { grid, choice, uniform, logUniform, intUniform, space, Space } from './space';
export type { Categorical, Distribution, ParamValue, Params, SpaceInput } from './space';
export { GridSampler, RandomSampler, TpeSampler, makeSampler } from './sampler';
export type { Sampler, SamplerSpec, SampleContext, TpeOptions } from './sampler';
export { NopPruner, MedianPruner, AshaPruner, HyperbandPruner, makePruner, percentile } from './pruner';
export type { Pruner, PrunerSpec, PruneContext, MedianOptions, AshaOptions, HyperbandOptions } from './pruner';
export { Storage, openStorage, parseStorageUrl, checkStudyName, STUDY_NAME } from './storage';
export type { StudyRow, StorageTarget } from './storage';
export { Study, study, loadStudy, DEFAULT_STORAGE } from './study';
export type { StudyOptions, OptimizeOptions, OptimizeResult, StudySummary } from './study';
export { Trial } from './trial';
export type { TrialAbortReason } from './trial';
export { joinStudy } from './join';
export type { JoinOptions } from './join';
export { runWorker, decideClaim } from './worker';
export type { WorkerResult } from './worker';
export { mnistObjective, resolveMnistParams, checkMnistSpace, MNIST_PARAMS } from './mnist';
export type { MnistObjectiveOptions } from './mnist';
export { studyReport } from './report';
export type { Objective, ObjectiveDef, ObjectiveFn, ObjectiveSpec } from './objective';
export type { Budget, HeartbeatConfig, StudyConfig } from './config';
export { SearchError, StorageError, TrialPruned } from './errors';
export { better, bestTrial } from './types';
export type { Direction, Intermediate, TrialRecord, TrialState } from './types';
