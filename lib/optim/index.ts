// Optimisers as pure (params, state, grads) -> { params, state } functions, and schedules.

export type { Optimizer, OptimizerState, LearningRate } from './optimizer.ts';
export { sgd } from './sgd.ts';
export type { SgdOptions, SgdState } from './sgd.ts';
export { adam } from './adam.ts';
export type { AdamOptions, AdamState } from './adam.ts';
export { stepDecay } from './schedule.ts';
export type { StepDecayOptions } from './schedule.ts';
