// The objective a run minimises, stateful ones included: the memory bank and the exemplar
// classifier by name, or a user's file that exports `init` (see lib/objectives/stateful-objective.ts).
// A stateful file's objective is tried once on a small batch before training, as a stateless
// one is, so a mistake is a sentence naming the file. Anything else goes to objective-choice.ts.

import * as E from 'fp-ts/lib/Either.js';
import { isTensor } from '../tensor.ts';
import { tensor } from '../constants.ts';
import { interpret } from '../interpret.ts';
import { formatShape } from '../shape.ts';
import { key } from '../random/key.ts';
import { materialize } from '../nn/materialize.ts';
import { l2Normalize } from '../composites/normalize.ts';
import { flattenTree } from '../tree.ts';
import { builtInStatefulDefinitions } from '../check/built-in-stateful-objectives.ts';
import { loadAnyObjective, type UserCodeLimits } from '../check/load-objective.ts';
import { UserCodeStopped } from '../check/user-code.ts';
import { isStatefulDefinition } from '../check/stateful-objective-definition.ts';
import type { StatefulObjective } from '../objectives/stateful-objective.ts';
import { boundObjective, isBuiltInObjective, loadObjective, type Objective } from './objective-choice.ts';

export const statefulObjectiveNames = ['memory-bank', 'exemplar'] as const;

/** The memory bank's authors' temperature, which the exemplar classifier shares so that the two differ only in how their class vectors are set. */
export const statefulTemperature = 0.07;

export type RunObjective =
  | { readonly kind: 'stateless'; readonly loss: Objective }
  | { readonly kind: 'stateful'; readonly objective: StatefulObjective; readonly options: object };

export const isStatefulObjectiveName = (spec: string): spec is (typeof statefulObjectiveNames)[number] =>
  (statefulObjectiveNames as readonly string[]).includes(spec);

/** Try the objective on 4 instances of 8-d unit features, of a training set of 6: a finite scalar loss and a state of tensors. */
const tryStatefulObjective = (objective: StatefulObjective, options: object, where: string): E.Either<string, void> => {
  const rows = 4 * objective.views;
  const features = l2Normalize(tensor(Array.from({ length: rows * 8 }, (_, i) => Math.sin(1.7 * i + 0.3)), [rows, 8]));
  try {
    const { state, params } = materialize(objective.init(key(0), { count: 6, dimension: 8 }, options));
    const result = objective.loss(features, options, { indices: tensor([4, 1, 3, 0], [4]), state, params });
    if (!isTensor(result?.loss) || result.loss.size !== 1)
      return E.left(`${where} returned ${isTensor(result?.loss) ? `a loss of shape ${formatShape(result.loss.shape)}` : 'no `loss` tensor'}; expected { loss: scalar Tensor, state }`);
    const loss = interpret(result.loss).data[0];
    if (!Number.isFinite(loss)) return E.left(`${where} returned a loss of ${loss} on [${rows}, 8] unit features; expected a finite number`);
    flattenTree(result.state).leaves.forEach((leaf) => interpret(leaf));
  } catch (cause) {
    // Ctrl-C ends the run; a time limit is the objective's failure, said as such.
    if (cause instanceof UserCodeStopped) {
      if (cause.reason === 'ctrl-c') throw cause;
      return E.left(cause.message);
    }
    return E.left(`${where} failed on [${rows}, 8] features of 4 instances of 6: ${(cause as Error).message}`);
  }
  return E.right(undefined);
};

/**
 * A built-in name (stateless or stateful) or the path of a .ts/.js file; `temperature` goes into
 * the objective's options. A file's import and every call of its functions run under `limits`.
 */
export const loadRunObjective = async (spec: string, temperature: number, negativeWeight = 1, limits: UserCodeLimits = {}): Promise<E.Either<string, RunObjective>> => {
  if (isStatefulObjectiveName(spec)) {
    const { objective, options } = builtInStatefulDefinitions[spec];
    return E.right({ kind: 'stateful', objective, options: { ...options, temperature } });
  }
  const stateless = E.map((loss: Objective): RunObjective => ({ kind: 'stateless', loss }));
  if (isBuiltInObjective(spec)) return stateless(await loadObjective(spec, temperature, negativeWeight));
  const definition = await loadAnyObjective(spec, limits);
  if (E.isLeft(definition)) return definition;
  if (!isStatefulDefinition(definition.right)) return stateless(boundObjective(definition.right, spec, temperature));
  const { objective } = definition.right;
  const options = { ...(definition.right.options ?? {}), temperature };
  const tried = tryStatefulObjective(objective, options, `the objective in ${spec}`);
  return E.isLeft(tried) ? tried : E.right({ kind: 'stateful', objective, options });
};
