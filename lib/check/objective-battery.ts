// The objective battery: the property suite's checks of the built-in objectives, turned on an
// objective someone wrote. Each check is a fast-check property over random batches of unit
// features (m instances, 2m rows of d dimensions); a failure is shrunk to a small batch and
// reported with the seed and path that regenerate it. The result is a structured report, so
// tests and other code call it directly; objective-report.ts prints it.
//
//  1. the gradient against central finite differences in float64, at each option set (its own
//     options, and temperatures down to 0.05 where it takes one), on random and on nearly
//     coincident features;
//  2. the compiled loss and gradient against the interpreted ones, within float32 tolerance;
//  3. a finite loss and gradient on nearly coincident and on antipodal features;
//  4. permuting the instances (both views alike) keeps the loss and permutes the gradient;
//  5. swapping the two views keeps the loss and swaps the gradient (information only when the
//     objective declares `symmetric: false`);
//  6. every extra property the objective comes with;
//  7. the loss and gradient against the objective's `reference`, a second implementation, when it
//     has one. Finite differences hold every stopGradient node fixed, so they agree with a
//     gradient wherever its stopGradient sits: the plan counts the nodes the loss depends on
//     (stop-gradients.ts), and the report says when there are some and no reference to judge them.

import fc from 'fast-check';
import { isLeft } from 'fp-ts/lib/Either.js';
import type { Tensor } from '../tensor.ts';
import { grad } from '../autodiff.ts';
import { interpret, interpretScalar } from '../interpret.ts';
import type { BackendName } from '../compile/backend.ts';
import type { CompiledFunction } from '../compile/compile.ts';
import { checkGrad, formatGradCheckFailure, type GradCheckFailure } from './check-grad.ts';
import { influentialStopGradients } from './stop-gradients.ts';
import { UserCodeStopped } from './user-code.ts';
import {
  type ObjectiveDefinition, type ObjectiveFeatures, type ObjectiveFunction, type ObjectiveOptions, type ObjectiveProperty, probeFeatures,
  validateObjectiveDefinition,
} from './objective-definition.ts';
import { formatObjectiveOptions, optionSetsOf } from './objective-option-sets.ts';
import { type AnyObjectiveDefinition, isStatefulDefinition } from './stateful-objective-definition.ts';
import {
  antipodalBatchArbitrary, type BatchSizes, batchFeatures, defaultBatchSizes, type FeatureBatch, nearlyCoincidentBatchArbitrary,
  permutedBatchArbitrary, type Rows, unitBatchArbitrary,
} from './feature-batches.ts';

export interface ObjectiveBatteryOptions {
  /** Runs of each property (default 50). */
  readonly runs?: number;
  /** fast-check's seed, the same for every property; drawn (and reported) when absent. */
  readonly seed?: number;
  /** The least and the most instances m (default [1, 4]). */
  readonly instances?: readonly [number, number];
  /** The least and the most dimensions d (default [2, 8]). */
  readonly dimensions?: readonly [number, number];
  /** The backend of the compiled check; compile's own choice (the best that runs here) when absent. */
  readonly backend?: BackendName;
  /** false leaves out the compiled check (default true). */
  readonly compiled?: boolean;
  /** Told what will be checked before the first property runs, so a caller can print as the battery goes. */
  readonly onStart?: (plan: ObjectiveBatteryPlan) => void;
  /** Told about each property as soon as it has run. */
  readonly onProperty?: (result: ObjectivePropertyResult) => void;
}

export const defaultBatteryRuns = 50;

/** A failing batch; `order` is the permutation of the instances where one was drawn. */
export type ObjectiveCounterexample = FeatureBatch & { readonly order?: readonly number[] };

export interface ObjectivePropertyFailure {
  /** What went wrong at the shrunk counterexample (for a gradient, `formatGradCheckFailure`'s text). */
  readonly message: string;
  /** The gradient check's failure, with the element and both values, when that is what failed. */
  readonly gradCheckFailure?: GradCheckFailure;
  /** Absent only when the property was interrupted before a counterexample was found. */
  readonly counterexample?: ObjectiveCounterexample;
  /** fast-check's seed and path: `fc.check(property, { seed, path })` regenerates the counterexample. */
  readonly seed: number;
  readonly path?: string;
  readonly shrinks: number;
  /** Runs until the first failure. */
  readonly runs: number;
}

/** `info`: checked, but not required (swapping views of an objective declared not symmetric). */
export type ObjectivePropertyOutcome = 'passed' | 'failed' | 'info';

export interface ObjectivePropertyResult {
  readonly name: string;
  readonly outcome: ObjectivePropertyOutcome;
  readonly required: boolean;
  readonly holds: boolean;
  readonly runs: number;
  readonly seconds: number;
  /** Why a property is only information, or what ran (the compiled backend). */
  readonly note?: string;
  readonly failure?: ObjectivePropertyFailure;
}

/** What the battery checks, known before it runs. */
export interface ObjectiveBatteryPlan {
  readonly name: string;
  readonly runs: number;
  readonly seed: number;
  readonly sizes: BatchSizes;
  readonly optionSets: readonly ObjectiveOptions[];
  /** How the option sets were chosen. */
  readonly optionSetsSource: string;
  /**
   * stopGradient nodes whose value the loss depends on (the most at any option set, on a probe
   * batch): where they sit decides the gradient, and finite differences cannot judge it.
   */
  readonly stopGradientNodes: number;
  /** Whether the objective comes with a `reference` to check its loss and gradient against. */
  readonly reference: boolean;
}

export interface ObjectiveReport extends ObjectiveBatteryPlan {
  /** Every required property holds. */
  readonly passed: boolean;
  /** What the compiler said: a backend passed over, a primitive run on the host. */
  readonly warnings: readonly string[];
  readonly properties: readonly ObjectivePropertyResult[];
  readonly seconds: number;
}

/** Thrown by a property's check: the message, and the gradient check's failure when there is one. */
export class Violation extends Error {
  constructor(message: string, readonly gradCheckFailure?: GradCheckFailure) {
    super(message);
  }
}

export interface BatteryProperty<T extends ObjectiveCounterexample = ObjectiveCounterexample> {
  readonly name: string;
  readonly required: boolean;
  readonly note?: string;
  readonly arbitrary: fc.Arbitrary<T>;
  readonly check: (batch: T) => void | Promise<void>;
  /** Runs after the property, whatever happened (releases compiled kernels). */
  readonly finish?: () => Promise<string | undefined>;
}

// ---- the loss and its gradient as one program ----

const lossAndGradient = (objective: ObjectiveFunction, options: ObjectiveOptions) => (features: ObjectiveFeatures) => ({
  loss: objective(features, options),
  gradient: grad((x: ObjectiveFeatures) => objective(x, options))(features),
});

const evaluateLossAndGradient = (objective: ObjectiveFunction, options: ObjectiveOptions, rows: Rows, m: number, d: number) => {
  const { loss, gradient } = interpret(lossAndGradient(objective, options)(batchFeatures({ m, d, rows })));
  return { loss: loss.data[0], gradient: gradient.data };
};

/** `element 5 [2, 1]`: the flat index and the row and column of a [2m, d] gradient. */
export const elementOf = (index: number, d: number): string => `element ${index} [${Math.floor(index / d)}, ${index % d}]`;

/** Which option set a message is about, when there is more than one. */
export const at = (options: ObjectiveOptions, sets: number): string => (sets > 1 ? `with options ${formatObjectiveOptions(options)}: ` : '');

/** Equal to within `tolerance`, or the same NaN or infinity (that they are not finite is property 3's finding). */
export const same = (a: number, b: number, tolerance: number): boolean => Object.is(a, b) || Math.abs(a - b) <= tolerance;

// ---- 1. gradients against finite differences ----

const finiteDifferenceProperty = (objective: ObjectiveFunction, options: ObjectiveOptions, kind: string, arbitrary: fc.Arbitrary<FeatureBatch>): BatteryProperty => ({
  name: `gradient matches finite differences (float64), ${kind}, options ${formatObjectiveOptions(options)}`,
  required: true,
  arbitrary,
  check: (batch) => {
    const result = checkGrad(({ features }: { features: ObjectiveFeatures }) => objective(features, options), { features: batchFeatures(batch) });
    if (isLeft(result)) throw new Violation(formatGradCheckFailure(result.left), result.left);
  },
});

// ---- 2. compiled against interpreted ----

/**
 * Within float32 rounding of float64, relative to the largest entry of the result and to each
 * entry (as props/compile.test.ts compares): the first element where compiled and interpreted
 * disagree, with its tolerance, or undefined. NaN must meet NaN and an infinity the same infinity.
 */
export const firstDisagreement = (compiled: ArrayLike<number>, reference: ArrayLike<number>): { index: number; tolerance: number } | undefined => {
  let scale = 1;
  for (let i = 0; i < reference.length; i++) if (Number.isFinite(reference[i])) scale = Math.max(scale, Math.abs(reference[i]));
  for (let i = 0; i < reference.length; i++) {
    const [c, r] = [compiled[i], reference[i]];
    const tolerance = 1e-4 * scale + 1e-4 * Math.abs(r);
    const agree = Number.isNaN(r) ? Number.isNaN(c) : !Number.isFinite(r) ? c === r : Math.abs(c - r) <= tolerance;
    if (!agree) return { index: i, tolerance };
  }
  return undefined;
};

const compiledProperty = (
  objective: ObjectiveFunction,
  sets: readonly ObjectiveOptions[],
  sizes: BatchSizes,
  backend: BackendName | undefined,
  warnings: Set<string>,
): BatteryProperty => {
  // One compiled program per option set and shape, built on first use and reused.
  const programs = new Map<string, CompiledFunction<ObjectiveFeatures, { loss: Tensor; gradient: ObjectiveFeatures }>>();
  let backendUsed: string | undefined;
  const programFor = async (set: number, m: number, d: number) => {
    const key = `${set} ${m}x${d}`;
    let program = programs.get(key);
    if (program === undefined) {
      // Loaded here, not at the top: the language's surface re-exports this harness and need not load gpu.js.
      const { compile } = await import('../compile/compile.ts');
      program = compile(lossAndGradient(objective, sets[set]), { backend, onWarning: (message) => warnings.add(message) });
      programs.set(key, program);
    }
    return program;
  };
  return {
    name: 'compiled loss and gradient equal the interpreted ones (float32 tolerance)',
    required: true,
    arbitrary: unitBatchArbitrary(sizes),
    check: async ({ m, d, rows }) => {
      // Both sides see the same float32 inputs, so only the arithmetic differs.
      const rounded = rows.map((row) => row.map(Math.fround));
      for (let set = 0; set < sets.length; set++) {
        const reference = evaluateLossAndGradient(objective, sets[set], rounded, m, d);
        const program = await programFor(set, m, d);
        const compiled = await program({ shape: [2 * m, d], data: Float32Array.from(rounded.flat()) });
        backendUsed = program.report()?.backend ?? backendUsed;
        if (firstDisagreement(compiled.loss.data, [reference.loss]) !== undefined)
          throw new Violation(`${at(sets[set], sets.length)}compiled loss ${compiled.loss.data[0]}, interpreted ${reference.loss}`);
        const disagreement = firstDisagreement(compiled.gradient.data, reference.gradient);
        if (disagreement !== undefined) {
          const { index, tolerance } = disagreement;
          throw new Violation(
            `${at(sets[set], sets.length)}gradient ${elementOf(index, d)}: compiled ${compiled.gradient.data[index]}, ` +
              `interpreted ${reference.gradient[index]} (tolerance ${tolerance.toExponential(3)})`,
          );
        }
      }
    },
    finish: async () => {
      await Promise.all([...programs.values()].map((program) => program.destroy()));
      return backendUsed === undefined ? undefined : `backend ${backendUsed}, ${programs.size} program${programs.size === 1 ? '' : 's'} compiled`;
    },
  };
};

// ---- 3. finite where similarities tie or saturate ----

const finiteProperty = (objective: ObjectiveFunction, sets: readonly ObjectiveOptions[], sizes: BatchSizes): BatteryProperty => ({
  name: 'loss and gradient are finite on nearly coincident and on antipodal features',
  required: true,
  arbitrary: fc.oneof(nearlyCoincidentBatchArbitrary(sizes), antipodalBatchArbitrary(sizes)),
  check: ({ m, d, rows }) => {
    for (const options of sets) {
      const { loss, gradient } = evaluateLossAndGradient(objective, options, rows, m, d);
      if (!Number.isFinite(loss)) throw new Violation(`${at(options, sets.length)}the loss is ${loss}`);
      const index = gradient.findIndex((v) => !Number.isFinite(v));
      if (index >= 0) throw new Violation(`${at(options, sets.length)}the gradient at ${elementOf(index, d)} is ${gradient[index]} (the loss is ${loss})`);
    }
  },
});

// ---- 4, 5. invariance to rearranging the rows ----

/**
 * Rearranged features: row k of the new batch is row `source(k)` of the old. An objective
 * invariant to the rearrangement keeps its loss, and its gradient moves with the rows.
 */
const rearrangementCheck = (
  objective: ObjectiveFunction,
  sets: readonly ObjectiveOptions[],
  change: (batch: ObjectiveCounterexample) => string,
  source: (k: number, batch: ObjectiveCounterexample) => number,
) => (batch: ObjectiveCounterexample): void => {
  const { m, d, rows } = batch;
  const rearranged = rows.map((_, k) => rows[source(k, batch)]);
  for (const options of sets) {
    const before = evaluateLossAndGradient(objective, options, rows, m, d);
    const after = evaluateLossAndGradient(objective, options, rearranged, m, d);
    // float64 sums taken in another order differ in the last digits, nothing more.
    if (!same(after.loss, before.loss, 1e-9 * Math.max(1, Math.abs(before.loss))))
      throw new Violation(`${at(options, sets.length)}${change(batch)} changes the loss from ${before.loss} to ${after.loss}`);
    const scale = before.gradient.reduce((s, v) => (Number.isFinite(v) ? Math.max(s, Math.abs(v)) : s), 1);
    for (let k = 0; k < 2 * m; k++)
      for (let c = 0; c < d; c++) {
        const [moved, original] = [after.gradient[k * d + c], before.gradient[source(k, batch) * d + c]];
        if (!same(moved, original, 1e-9 * scale))
          throw new Violation(
            `${at(options, sets.length)}${change(batch)}: the gradient of row ${k} (row ${source(k, batch)} before), column ${c}, ` +
              `is ${moved}, not ${original} as before (the loss ${before.loss} then ${after.loss})`,
          );
      }
  }
};

const permutationProperty = (objective: ObjectiveFunction, sets: readonly ObjectiveOptions[], sizes: BatchSizes): BatteryProperty => ({
  name: 'permuting the instances (both views alike) keeps the loss and permutes the gradient',
  required: true,
  arbitrary: permutedBatchArbitrary(sizes),
  check: rearrangementCheck(
    objective,
    sets,
    ({ order }) => `putting the instances in the order [${order!.join(', ')}]`,
    (k, { m, order }) => (k < m ? order![k] : m + order![k - m]),
  ),
});

const swapProperty = (objective: ObjectiveFunction, sets: readonly ObjectiveOptions[], sizes: BatchSizes, symmetric: boolean): BatteryProperty => ({
  name: 'swapping the two views keeps the loss and swaps the gradient',
  required: symmetric,
  note: symmetric ? undefined : 'not required: the objective declares `symmetric: false`',
  arbitrary: unitBatchArbitrary(sizes),
  check: rearrangementCheck(objective, sets, () => 'swapping the first and the second views', (k, { m }) => (k + m) % (2 * m)),
});

// ---- 6. the objective's own properties ----

const extraProperty = (objective: ObjectiveFunction, options: ObjectiveOptions, sizes: BatchSizes, extra: ObjectiveProperty): BatteryProperty => ({
  name: extra.name,
  required: true,
  note: 'the objective\'s own property',
  arbitrary: unitBatchArbitrary(sizes),
  check: ({ m, d, rows }) => {
    const features = batchFeatures({ m, d, rows });
    const lossAt = (other: Rows) => interpretScalar(objective(batchFeatures({ m: other.length / 2, d: other[0].length, rows: other }), options));
    const loss = interpretScalar(objective(features, options));
    if (extra.property(features, { m, d, rows, loss, options, lossAt }) === false) throw new Violation(`it returned false (the loss is ${loss})`);
  },
});

// ---- 7. against a second implementation ----

const referenceProperty = (objective: ObjectiveFunction, reference: ObjectiveFunction, sets: readonly ObjectiveOptions[], sizes: BatchSizes): BatteryProperty => ({
  name: 'loss and gradient equal the reference\'s (float64), random unit features',
  required: true,
  note: 'the objective\'s `reference`, a second implementation: it sees where a stopGradient sits, which finite differences cannot',
  arbitrary: unitBatchArbitrary(sizes),
  check: ({ m, d, rows }) => {
    for (const options of sets) {
      const ours = evaluateLossAndGradient(objective, options, rows, m, d);
      const theirs = evaluateLossAndGradient(reference, options, rows, m, d);
      // Two float64 implementations differ in rounding only; a misplaced stopGradient changes whole entries.
      if (!same(ours.loss, theirs.loss, 1e-6 * Math.max(1, Math.abs(theirs.loss))))
        throw new Violation(`${at(options, sets.length)}the loss is ${ours.loss}, the reference's ${theirs.loss}`);
      const tolerance = 1e-6 * theirs.gradient.reduce((s, v) => (Number.isFinite(v) ? Math.max(s, Math.abs(v)) : s), 1);
      const index = ours.gradient.findIndex((v, i) => !same(v, theirs.gradient[i], tolerance));
      if (index >= 0)
        throw new Violation(
          `${at(options, sets.length)}the gradient at ${elementOf(index, d)} is ${ours.gradient[index]}, the reference's ` +
            `${theirs.gradient[index]} (tolerance ${tolerance.toExponential(3)})`,
        );
    }
  },
});

/** The most influential stopGradient nodes at any option set; an objective that throws counts none (the battery reports the throw). */
const countStopGradients = (objective: ObjectiveFunction, sets: readonly ObjectiveOptions[]): number =>
  Math.max(
    0,
    ...sets.map((options) => {
      try {
        return influentialStopGradients(objective(probeFeatures(), options)).length;
      } catch {
        return 0;
      }
    }),
  );

// ---- running ----

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const runProperty = async <T extends ObjectiveCounterexample>(property: BatteryProperty<T>, runs: number, seed: number): Promise<ObjectivePropertyResult> => {
  const started = performance.now();
  const { name, required, note } = property;
  let details: fc.RunDetails<[T]>;
  let finishNote: string | undefined;
  try {
    details = await fc.check(fc.asyncProperty(property.arbitrary, async (batch) => property.check(batch)), { numRuns: runs, seed });
  } finally {
    finishNote = await property.finish?.();
  }
  // A stopped objective is no finding about it: the battery ends there.
  if (details.errorInstance instanceof UserCodeStopped) throw details.errorInstance;
  const seconds = (performance.now() - started) / 1000;
  const notes = [note, finishNote].filter((n) => n !== undefined).join('; ') || undefined;
  if (!details.failed) return { name, outcome: required ? 'passed' : 'info', required, holds: true, runs: details.numRuns, seconds, note: notes };
  const error = details.errorInstance;
  const failure: ObjectivePropertyFailure = {
    message: details.interrupted ? `interrupted after ${details.numRuns} runs` : error === null ? `failed: ${details.numSkips} runs skipped` : messageOf(error),
    gradCheckFailure: error instanceof Violation ? error.gradCheckFailure : undefined,
    counterexample: details.counterexample?.[0],
    seed: details.seed,
    path: details.counterexamplePath ?? undefined,
    shrinks: details.numShrinks,
    runs: details.numRuns,
  };
  return { name, outcome: required ? 'failed' : 'info', required, holds: false, runs: details.numRuns, seconds, note: notes, failure };
};

/**
 * `checkObjective(definition, options)`: runs the battery on an objective and reports every
 * property. Throws a TypeError when the definition is not an objective (not a function, or it
 * returns something other than a scalar tensor); `loadObjective` reads one from a file, whose
 * functions then throw UserCodeStopped at Ctrl-C or their time limit, which ends the battery. A
 * stateful objective's definition goes to the stateful battery (stateful-objective-battery.ts).
 */
export const checkObjective = async (definition: AnyObjectiveDefinition, batteryOptions: ObjectiveBatteryOptions = {}): Promise<ObjectiveReport> => {
  if (isStatefulDefinition(definition)) {
    // Loaded here: the stateful battery builds on this module's properties.
    const { checkStatefulObjective } = await import('./stateful-objective-battery.ts');
    return checkStatefulObjective(definition, batteryOptions);
  }
  const valid = validateObjectiveDefinition(definition, definition.name ?? 'checkObjective');
  if (isLeft(valid)) throw new TypeError(valid.left);
  const started = performance.now();
  const {
    runs = defaultBatteryRuns,
    seed = Math.floor(Math.random() * 0x7fffffff),
    instances = defaultBatchSizes.instances,
    dimensions = defaultBatchSizes.dimensions,
    backend,
    compiled = true,
    onStart,
    onProperty,
  } = batteryOptions;
  const sizes: BatchSizes = { instances, dimensions };
  const { objective, symmetric = true, properties = [], reference } = definition;
  const { sets, source } = optionSetsOf(definition);
  const warnings = new Set<string>();
  const plan: ObjectiveBatteryPlan = {
    name: definition.name ?? (objective.name || 'the objective'),
    runs,
    seed,
    sizes: { instances, dimensions },
    optionSets: sets,
    optionSetsSource: source,
    stopGradientNodes: countStopGradients(objective, sets),
    reference: reference !== undefined,
  };
  onStart?.(plan);

  const battery: (() => BatteryProperty)[] = [
    ...sets.flatMap((options) => [
      () => finiteDifferenceProperty(objective, options, 'random unit features', unitBatchArbitrary(sizes)),
      () => finiteDifferenceProperty(objective, options, 'nearly coincident features (rows within 1e-6)', nearlyCoincidentBatchArbitrary(sizes)),
    ]),
    ...(compiled ? [() => compiledProperty(objective, sets, sizes, backend, warnings)] : []),
    () => finiteProperty(objective, sets, sizes),
    () => permutationProperty(objective, sets, sizes),
    () => swapProperty(objective, sets, sizes, symmetric),
    ...properties.map((extra) => () => extraProperty(objective, sets[0], sizes, extra)),
    ...(reference === undefined ? [] : [() => referenceProperty(objective, reference, sets, sizes)]),
  ];
  return runBattery(plan, battery, { onProperty, warnings, started });
};

/** Runs the properties one after another (each built just before it runs) and reports them under the plan. */
export const runBattery = async <T extends ObjectiveCounterexample>(
  plan: ObjectiveBatteryPlan,
  battery: readonly (() => BatteryProperty<T>)[],
  { onProperty, warnings, started }: { readonly onProperty?: (result: ObjectivePropertyResult) => void; readonly warnings: Set<string>; readonly started: number },
): Promise<ObjectiveReport> => {
  const results: ObjectivePropertyResult[] = [];
  for (const property of battery) {
    const result = await runProperty(property(), plan.runs, plan.seed);
    results.push(result);
    onProperty?.(result);
  }
  return {
    ...plan,
    passed: results.every((r) => !r.required || r.holds),
    warnings: [...warnings],
    properties: results,
    seconds: (performance.now() - started) / 1000,
  };
};
