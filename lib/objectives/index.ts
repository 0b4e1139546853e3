// Embedding objectives for two views of each instance, written as plain functions of the
// language's operations: each file is a short example of writing a custom objective.

export { invariantSpreadingLoss } from './invariant-spreading.ts';
export type { InvariantSpreadingOptions } from './invariant-spreading.ts';
export { ntXentLoss } from './nt-xent.ts';
export type { NtXentOptions } from './nt-xent.ts';
export { alignmentUniformityLoss } from './alignment-uniformity.ts';
export type { AlignmentUniformityOptions } from './alignment-uniformity.ts';
export { logOneMinusSoftmax } from './log-one-minus-softmax.ts';
export {
  excludedLogit, excludeSelfPairs, instanceCount, negativeMask, pairwiseSimilarity, pairwiseSquaredDistance, positiveMask,
  selfMask, splitViews,
} from './pairs.ts';
export type { Features } from './pairs.ts';
export type { ObjectiveSize, ObjectiveVariables, StatefulObjective, StatefulObjectiveContext, StatefulObjectiveResult } from './stateful-objective.ts';
export { memoryBankObjective } from './memory-bank.ts';
export type { MemoryBankOptions, MemoryBankState } from './memory-bank.ts';
export { exemplarObjective } from './exemplar.ts';
export type { ExemplarOptions, ExemplarParams } from './exemplar.ts';
export { randomUnitRows, rowsAt, withRowsAt } from './instance-rows.ts';
