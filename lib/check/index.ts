export { assertGrad, checkGrad, defaultCheckGradOptions, formatGradCheckFailure, GradCheckError } from './check-grad.ts';
export type { CheckGradOptions, GradCheckFailure, GradCheckReport, GradMismatch, GradNonFinite } from './check-grad.ts';
export { gradientProperty } from './gradient-property.ts';
export { influentialStopGradients } from './stop-gradients.ts';
export {
  anyTensorArbitrary,
  broadcastPairArbitrary,
  shapeArbitrary,
  tensorArbitrary,
  unitRowsArbitrary,
  valuesArbitrary,
} from './arbitraries.ts';
export type { ShapeOptions, ValueOptions } from './arbitraries.ts';
export { awkwardShapes, planProgram, programArbitrary, programDescriptionArbitrary, programOperations, runProgram, smallShapes } from './random-programs.ts';
export type { ProgramDescription, ProgramInputs, ProgramShapes, ProgramStep } from './random-programs.ts';
export { checkObjective, defaultBatteryRuns } from './objective-battery.ts';
export type {
  ObjectiveBatteryOptions, ObjectiveBatteryPlan, ObjectiveCounterexample, ObjectivePropertyFailure, ObjectivePropertyOutcome, ObjectivePropertyResult,
  ObjectiveReport,
} from './objective-battery.ts';
export { objectiveFromModule, validateObjectiveDefinition } from './objective-definition.ts';
export type {
  ObjectiveDefinition, ObjectiveFeatures, ObjectiveFunction, ObjectiveOptions, ObjectiveProperty, ObjectivePropertyContext,
} from './objective-definition.ts';
export { loadAnyObjective, loadObjective } from './load-objective.ts';
export { checkStatefulObjective } from './stateful-objective-battery.ts';
export { isStatefulDefinition, statefulObjectiveFromModule, validateStatefulDefinition } from './stateful-objective-definition.ts';
export type { AnyObjectiveDefinition, StatefulObjectiveDefinition } from './stateful-objective-definition.ts';
export { formatObjectiveOptions, optionSetsOf } from './objective-option-sets.ts';
export { formatBatteryHeader, formatBatteryProperty, formatBatterySummary, formatObjectiveReport } from './objective-report.ts';
export type { ObjectiveReportFormatOptions } from './objective-report.ts';
export {
  antipodalBatchArbitrary, batchFeatures, defaultBatchSizes, nearlyCoincidentBatchArbitrary, permutedBatchArbitrary, unitBatchArbitrary,
} from './feature-batches.ts';
export type { BatchSizes, FeatureBatch, FeatureBatchKind } from './feature-batches.ts';
