export { assertGrad, checkGrad, defaultCheckGradOptions, formatGradCheckFailure, GradCheckError } from './check-grad.ts';
export type { CheckGradOptions, GradCheckFailure, GradCheckReport, GradMismatch, GradNonFinite } from './check-grad.ts';
export { gradientProperty } from './gradient-property.ts';
export {
  anyTensorArbitrary,
  broadcastPairArbitrary,
  shapeArbitrary,
  tensorArbitrary,
  unitRowsArbitrary,
  valuesArbitrary,
} from './arbitraries.ts';
export type { ShapeOptions, ValueOptions } from './arbitraries.ts';
export { planProgram, programArbitrary, programDescriptionArbitrary, programOperations, runProgram } from './random-programs.ts';
export type { ProgramDescription, ProgramInputs, ProgramStep } from './random-programs.ts';
