// The objective battery for stateful objectives: the stateless battery's checks of the loss's
// gradient, carried over to a loss of the features and the objective's own parameters at a given
// state and batch of instance indices, and checks of the state: that its update holds the
// features and parameters fixed, and that it equals the reference's. Each property draws unit
// features, N >= B instances, B distinct indices, and the state and parameters from `init`.
//
//  1. the gradient (features and parameters) against central finite differences in float64, at
//     each option set, on random and on nearly coincident features;
//  2. the compiled loss, gradients and next state against the interpreted ones (float32 tolerance);
//  3. a finite loss and gradient on nearly coincident and on antipodal features;
//  4. permuting the batch's instances (rows and indices alike) keeps the loss and the parameters'
//     gradient and permutes the features' gradient;
//  5. no gradient flows through the next state: its derivative with respect to the features and
//     the parameters is exactly 0 (a memory bank is written with stopGradient(features));
//  6. the loss, gradients and next state against the objective's `reference`, when it has one.

import fc from 'fast-check';
import { isLeft } from 'fp-ts/lib/Either.js';
import type { Tensor } from '../tensor.ts';
import { tensor } from '../constants.ts';
import { grad, valueAndGrad } from '../autodiff.ts';
import { interpret } from '../interpret.ts';
import { key } from '../random/key.ts';
import { materialize } from '../nn/materialize.ts';
import { mul } from '../primitives/mul.ts';
import { add } from '../primitives/add.ts';
import { sum } from '../primitives/sum.ts';
import { flattenTree, type TensorTree, unflattenTree } from '../tree.ts';
import type { CompiledFunction } from '../compile/compile.ts';
import type { StatefulObjective } from '../objectives/stateful-objective.ts';
import { checkGrad, formatGradCheckFailure } from './check-grad.ts';
import { influentialStopGradients } from './stop-gradients.ts';
import { type ObjectiveOptions, probeFeatures } from './objective-definition.ts';
import { optionSetsOf } from './objective-option-sets.ts';
import { type StatefulObjectiveDefinition, validateStatefulDefinition } from './stateful-objective-definition.ts';
import { antipodalBatchArbitrary, type BatchSizes, batchFeatures, defaultBatchSizes, nearlyCoincidentBatchArbitrary, unitBatchArbitrary } from './feature-batches.ts';
import { indicesTensor, type StatefulBatch, statefulBatchArbitrary } from './stateful-batches.ts';
import { uniformNumbers } from './sample.ts';
import {
  at, type BatteryProperty, defaultBatteryRuns, elementOf, firstDisagreement, type ObjectiveBatteryOptions, type ObjectiveReport, runBattery, same,
  Violation,
} from './objective-battery.ts';

type Loss = StatefulObjective['loss'];

/** The state and parameters `init` gives for the batch's N and d, as constants. */
const variablesOf = (objective: StatefulObjective, options: ObjectiveOptions, { count, d, stateSeed }: StatefulBatch) =>
  materialize(objective.init(key(stateSeed), { count, dimension: d }, options));

/** The loss, its gradient with respect to the features and the parameters, and the next state, as one program. */
const lossGradientsAndState = (loss: Loss, options: ObjectiveOptions) =>
  ({ features, indices, state, params }: { features: Tensor<readonly [number, number]>; indices: Tensor<readonly [number]>; state: TensorTree; params: TensorTree }) => {
    const [[value, next], gradient] = valueAndGrad(
      (differentiated: { features: Tensor<readonly [number, number]>; params: TensorTree }) => {
        const result = loss(differentiated.features, options, { indices, state, params: differentiated.params });
        return [result.loss, result.state] as const;
      },
      { hasAux: true },
    )({ features, params });
    return { loss: value, gradient, state: next };
  };

const inputsOf = (objective: StatefulObjective, options: ObjectiveOptions, batch: StatefulBatch, rows = batch.rows, indices = batch.indices) => {
  const { state, params } = variablesOf(objective, options, batch);
  return { features: batchFeatures({ m: batch.m, d: batch.d, rows }), indices: indicesTensor(indices), state, params };
};

/** Every leaf of an evaluated tree, by path. */
const leavesOf = (tree: unknown): { paths: string[]; data: ArrayLike<number>[] } => {
  const isValue = (x: unknown): x is { data: ArrayLike<number> } => typeof x === 'object' && x !== null && ArrayBuffer.isView((x as { data?: unknown }).data);
  const { leaves, paths } = flattenTree(tree, isValue);
  return { paths, data: leaves.map((leaf) => leaf.data) };
};

const evaluate = (loss: Loss, objective: StatefulObjective, options: ObjectiveOptions, batch: StatefulBatch, rows = batch.rows, indices = batch.indices) =>
  interpret(lossGradientsAndState(loss, options)(inputsOf(objective, options, batch, rows, indices)));

// ---- 1, 3. gradients ----

const finiteDifferenceProperty = (objective: StatefulObjective, options: ObjectiveOptions, kind: string, arbitrary: fc.Arbitrary<StatefulBatch>): BatteryProperty<StatefulBatch> => ({
  name: `gradient (features and parameters) matches finite differences (float64), ${kind}, options ${formatOptions(options)}`,
  required: true,
  arbitrary,
  check: (batch) => {
    const { features, indices, state, params } = inputsOf(objective, options, batch);
    const result = checkGrad((inputs: { features: Tensor<readonly [number, number]>; params: TensorTree }) =>
      objective.loss(inputs.features, options, { indices, state, params: inputs.params }).loss, { features, params });
    if (isLeft(result)) throw new Violation(formatGradCheckFailure(result.left), result.left);
  },
});

const finiteProperty = (objective: StatefulObjective, sets: readonly ObjectiveOptions[], sizes: BatchSizes): BatteryProperty<StatefulBatch> => ({
  name: 'loss and gradient are finite on nearly coincident and on antipodal features',
  required: true,
  arbitrary: statefulBatchArbitrary(fc.oneof(nearlyCoincidentBatchArbitrary(sizes), antipodalBatchArbitrary(sizes)), objective.views),
  check: (batch) => {
    for (const options of sets) {
      const { loss, gradient } = evaluate(objective.loss, objective, options, batch);
      if (!Number.isFinite(loss.data[0])) throw new Violation(`${at(options, sets.length)}the loss is ${loss.data[0]}`);
      const { paths, data } = leavesOf(gradient);
      for (let l = 0; l < paths.length; l++) {
        const index = Array.from(data[l]).findIndex((v) => !Number.isFinite(v));
        if (index >= 0) throw new Violation(`${at(options, sets.length)}the gradient of ${paths[l]} at element ${index} is ${data[l][index]} (the loss is ${loss.data[0]})`);
      }
    }
  },
});

// ---- 2. compiled against interpreted ----

const compiledProperty = (objective: StatefulObjective, sets: readonly ObjectiveOptions[], sizes: BatchSizes, backend: ObjectiveBatteryOptions['backend'], warnings: Set<string>): BatteryProperty<StatefulBatch> => {
  const programs = new Map<string, CompiledFunction<unknown, unknown>>();
  let backendUsed: string | undefined;
  const float32 = (tree: unknown) => {
    const { leaves } = flattenTree(tree);
    return interpret(leaves).map((value) => ({ shape: [...value.shape], data: Float32Array.from(value.data) }));
  };
  return {
    name: 'compiled loss, gradients and next state equal the interpreted ones (float32 tolerance)',
    required: true,
    arbitrary: statefulBatchArbitrary(unitBatchArbitrary(sizes), objective.views),
    check: async (batch) => {
      const { compile } = await import('../compile/compile.ts');
      const rounded = batch.rows.map((row) => row.map(Math.fround));
      for (let set = 0; set < sets.length; set++) {
        const inputs = inputsOf(objective, sets[set], batch, rounded);
        const { leaves } = flattenTree(inputs);
        const values = float32(inputs);
        // The interpreter then starts from the float32 numbers the compiled program is given.
        const rebuilt = interpret(lossGradientsAndState(objective.loss, sets[set])(
          unflattenTree(inputs, values.map((v) => tensor(v.data, v.shape))),
        ));
        const programKey = `${set} ${leaves.map((leaf) => leaf.shape.join('x')).join(' ')}`;
        let program = programs.get(programKey);
        if (program === undefined) {
          program = compile(lossGradientsAndState(objective.loss, sets[set]) as (x: unknown) => unknown, { backend, onWarning: (message) => warnings.add(message) });
          programs.set(programKey, program);
        }
        const compiled = await program(unflattenTree(inputs, values));
        backendUsed = program.report()?.backend ?? backendUsed;
        const ours = leavesOf(compiled);
        const theirs = leavesOf(rebuilt);
        for (let l = 0; l < theirs.paths.length; l++) {
          const disagreement = firstDisagreement(ours.data[l], theirs.data[l]);
          if (disagreement !== undefined)
            throw new Violation(`${at(sets[set], sets.length)}${theirs.paths[l]} element ${disagreement.index}: compiled ${ours.data[l][disagreement.index]}, ` +
              `interpreted ${theirs.data[l][disagreement.index]} (tolerance ${disagreement.tolerance.toExponential(3)})`);
        }
      }
    },
    finish: async () => {
      await Promise.all([...programs.values()].map((program) => program.destroy()));
      return backendUsed === undefined ? undefined : `backend ${backendUsed}, ${programs.size} program${programs.size === 1 ? '' : 's'} compiled`;
    },
  };
};

// ---- 4. the order of the batch ----

const permutationProperty = (objective: StatefulObjective, sets: readonly ObjectiveOptions[], sizes: BatchSizes): BatteryProperty<StatefulBatch> => ({
  name: 'permuting the batch\'s instances (rows and indices alike) keeps the loss and the parameters\' gradient and permutes the features\' gradient',
  required: true,
  arbitrary: statefulBatchArbitrary(unitBatchArbitrary(sizes), objective.views, true),
  check: (batch) => {
    const { d, rows, indices } = batch;
    const order = batch.order!;
    const instances = indices.length;
    // Row k of the new batch is row source(k) of the old: each view's block is permuted alike.
    const source = (k: number) => Math.floor(k / instances) * instances + order[k % instances];
    const rearranged = rows.map((_, k) => rows[source(k)]);
    for (const options of sets) {
      const before = evaluate(objective.loss, objective, options, batch);
      const after = evaluate(objective.loss, objective, options, batch, rearranged, order.map((i) => indices[i]));
      const [was, is] = [before.loss.data[0], after.loss.data[0]];
      if (!same(is, was, 1e-9 * Math.max(1, Math.abs(was))))
        throw new Violation(`${at(options, sets.length)}putting the instances in the order [${order.join(', ')}] changes the loss from ${was} to ${is}`);
      const [g0, g1] = [leavesOf(before.gradient), leavesOf(after.gradient)];
      const scale = g0.data.reduce((s, data) => Array.from(data).reduce((t, v) => (Number.isFinite(v) ? Math.max(t, Math.abs(v)) : t), s), 1);
      for (let l = 0; l < g0.paths.length; l++) {
        const isFeatures = g0.paths[l] === 'features';
        for (let i = 0; i < g0.data[l].length; i++) {
          const original = isFeatures ? g0.data[l][source(Math.floor(i / d)) * d + (i % d)] : g0.data[l][i];
          if (!same(g1.data[l][i], original, 1e-9 * scale))
            throw new Violation(`${at(options, sets.length)}putting the instances in the order [${order.join(', ')}]: the gradient of ${g0.paths[l]} at ` +
              `${isFeatures ? elementOf(i, d) : `element ${i}`} is ${g1.data[l][i]}, not ${original}`);
        }
      }
    }
  },
});

// ---- 5. the state's update holds the features and parameters fixed ----

const stateGradientProperty = (objective: StatefulObjective, sets: readonly ObjectiveOptions[], sizes: BatchSizes): BatteryProperty<StatefulBatch> => ({
  name: 'no gradient flows through the next state (its derivative with respect to the features and parameters is 0)',
  required: true,
  note: 'the state is carried between steps as a value: an update of it should hold the features fixed (stopGradient)',
  arbitrary: statefulBatchArbitrary(unitBatchArbitrary(sizes), objective.views),
  check: (batch) => {
    for (const options of sets) {
      const { features, indices, state, params } = inputsOf(objective, options, batch);
      // The next state contracted with a fixed random cotangent, so no leaf's gradient cancels by symmetry.
      const contracted = (inputs: { features: Tensor<readonly [number, number]>; params: TensorTree }): Tensor => {
        const { leaves } = flattenTree(objective.loss(inputs.features, options, { indices, state, params: inputs.params }).state);
        return leaves.reduce<Tensor>((total, leaf, i) => add(total, sum(mul(leaf, tensor(uniformNumbers(i + 7, leaf.size, -1, 1), leaf.shape)))), tensor([0], []));
      };
      const gradient = leavesOf(interpret(grad(contracted)({ features, params })));
      for (let l = 0; l < gradient.paths.length; l++) {
        const index = Array.from(gradient.data[l]).findIndex((v) => v !== 0);
        if (index >= 0)
          throw new Violation(`${at(options, sets.length)}the next state depends differentiably on ${gradient.paths[l]}: its derivative at element ${index} is ` +
            `${gradient.data[l][index]}, expected 0 (write the state from stopGradient(features))`);
      }
    }
  },
});

// ---- 6. against a second implementation ----

const referenceProperty = (objective: StatefulObjective, reference: Loss, sets: readonly ObjectiveOptions[], sizes: BatchSizes): BatteryProperty<StatefulBatch> => ({
  name: 'loss, gradients and next state equal the reference\'s (float64), random unit features',
  required: true,
  note: 'the objective\'s `reference`, a second implementation: it checks the state\'s update, and where a stopGradient sits',
  arbitrary: statefulBatchArbitrary(unitBatchArbitrary(sizes), objective.views),
  check: (batch) => {
    for (const options of sets) {
      const ours = leavesOf(evaluate(objective.loss, objective, options, batch));
      const theirs = leavesOf(evaluate(reference, objective, options, batch));
      if (ours.paths.join() !== theirs.paths.join())
        throw new Violation(`${at(options, sets.length)}the objective gives ${ours.paths.join(', ')}, the reference ${theirs.paths.join(', ')}`);
      for (let l = 0; l < ours.paths.length; l++) {
        const tolerance = 1e-6 * Array.from(theirs.data[l]).reduce((s, v) => (Number.isFinite(v) ? Math.max(s, Math.abs(v)) : s), 1);
        const index = Array.from(ours.data[l]).findIndex((v, i) => !same(v, theirs.data[l][i], tolerance));
        if (index >= 0)
          throw new Violation(`${at(options, sets.length)}${ours.paths[l]} at element ${index} is ${ours.data[l][index]}, the reference's ${theirs.data[l][index]} ` +
            `(tolerance ${tolerance.toExponential(3)})`);
      }
    }
  },
});

// ---- running ----

const formatOptions = (options: ObjectiveOptions): string => {
  const entries = Object.entries(options);
  return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${k}: ${typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v)}`).join(', ')} }`;
};

/** The probe batch of the stateless battery, [4, 3], as B instances of a training set of B + 1. */
const probeLoss = (objective: StatefulObjective) => (features: Tensor<readonly [number, number]>, options: ObjectiveOptions): Tensor => {
  const instances = features.shape[0] / objective.views;
  const { state, params } = materialize(objective.init(key(0), { count: instances + 1, dimension: features.shape[1] }, options));
  return objective.loss(features, options, { indices: indicesTensor(Array.from({ length: instances }, (_, i) => i + 1)), state, params }).loss;
};

export const checkStatefulObjective = async (definition: StatefulObjectiveDefinition, batteryOptions: ObjectiveBatteryOptions = {}): Promise<ObjectiveReport> => {
  const valid = validateStatefulDefinition(definition, definition.name ?? 'checkObjective');
  if (isLeft(valid)) throw new TypeError(valid.left);
  const started = performance.now();
  const {
    runs = defaultBatteryRuns, seed = Math.floor(Math.random() * 0x7fffffff), instances = defaultBatchSizes.instances,
    dimensions = defaultBatchSizes.dimensions, backend, compiled = true, onStart, onProperty,
  } = batteryOptions;
  const sizes: BatchSizes = { instances, dimensions };
  const { objective, reference } = definition;
  const probe = probeLoss(objective);
  const { sets, source } = optionSetsOf({ objective: probe, options: definition.options, temperatures: definition.temperatures });
  const warnings = new Set<string>();
  const stopGradientNodes = Math.max(0, ...sets.map((options) => {
    try {
      return influentialStopGradients(probe(probeFeatures(), options)).length;
    } catch {
      return 0;
    }
  }));
  const plan = {
    name: definition.name ?? 'the objective', runs, seed, sizes, optionSets: sets, optionSetsSource: source, stopGradientNodes, reference: reference !== undefined,
  };
  onStart?.(plan);
  const unit = statefulBatchArbitrary(unitBatchArbitrary(sizes), objective.views);
  const nearlyCoincident = statefulBatchArbitrary(nearlyCoincidentBatchArbitrary(sizes), objective.views);
  const battery: (() => BatteryProperty<StatefulBatch>)[] = [
    ...sets.flatMap((options) => [
      () => finiteDifferenceProperty(objective, options, 'random unit features', unit),
      () => finiteDifferenceProperty(objective, options, 'nearly coincident features (rows within 1e-6)', nearlyCoincident),
    ]),
    ...(compiled ? [() => compiledProperty(objective, sets, sizes, backend, warnings)] : []),
    () => finiteProperty(objective, sets, sizes),
    () => permutationProperty(objective, sets, sizes),
    () => stateGradientProperty(objective, sets, sizes),
    ...(reference === undefined ? [] : [() => referenceProperty(objective, reference, sets, sizes)]),
  ];
  return runBattery(plan, battery, { onProperty, warnings, started });
};
