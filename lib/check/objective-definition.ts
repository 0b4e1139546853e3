// What the objective battery checks: an embedding objective, a function of a [2m, d] batch of
// features (the m first views, then the m second views) and an options object, with what its
// author declares about it. `objectiveFromModule` reads one from the exports of a file, and says
// clearly what is wrong when the exports are not what the battery expects.

import { type Either, left, map, right } from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { formatShape, type Rank2 } from '../shape.ts';
import { isTensor, type Tensor } from '../tensor.ts';
import { tensor } from '../constants.ts';

/** A batch of two views of m instances: [2m, d], the m first views then the m second views. */
export type ObjectiveFeatures = Tensor<Rank2>;

export type ObjectiveOptions = Readonly<Record<string, unknown>>;

/** Always called with an options object (the file's `options`, perhaps with a temperature set). */
export type ObjectiveFunction<O extends object = any> = (features: ObjectiveFeatures, options: O) => Tensor;

/** What an extra property is told about the batch it is checked on (random unit features). */
export interface ObjectivePropertyContext {
  readonly m: number;
  readonly d: number;
  /** The features as plain rows, the same numbers as `features`. */
  readonly rows: readonly (readonly number[])[];
  /** The loss at these features with the objective's options, evaluated in float64. */
  readonly loss: number;
  readonly options: ObjectiveOptions;
  /** The loss (float64) at other features, with the objective's options. */
  readonly lossAt: (rows: readonly (readonly number[])[]) => number;
}

/**
 * An extra property of the objective: it holds when `property` returns true or nothing, and fails
 * when it returns false or throws (the message is reported), e.g. a lower bound:
 * `{ name: 'the loss is at least 0', property: (_features, { loss }) => loss >= 0 }`.
 */
export interface ObjectiveProperty {
  readonly name: string;
  readonly property: (features: ObjectiveFeatures, context: ObjectivePropertyContext) => boolean | void;
}

export interface ObjectiveDefinition<O extends object = any> {
  /** What the report calls it (the file's path when loaded from one). */
  readonly name?: string;
  readonly objective: ObjectiveFunction<O>;
  /** The options passed as the second argument; `{}` when absent. */
  readonly options?: O;
  /**
   * Option sets to check besides `options`, each merged over it, e.g. `[{ temperature: 0.05 }]`.
   * When absent the battery detects a `temperature` option itself; `[]` turns that off.
   */
  readonly temperatures?: readonly Partial<O>[];
  /** Whether swapping the two views must leave the objective unchanged (default true). */
  readonly symmetric?: boolean;
  readonly properties?: readonly ObjectiveProperty[];
  /**
   * A second implementation of the same objective, whose loss and gradient the objective's must
   * equal. Finite differences hold every stopGradient node fixed, so they agree with a gradient
   * wherever its stopGradient sits; a reference written on its own (from a paper's equation or
   * another framework's code) is what can tell.
   */
  readonly reference?: ObjectiveFunction<O>;
}

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

const describe = (x: unknown): string =>
  x === null ? 'null' : Array.isArray(x) ? 'an array' : isTensor(x) ? `a tensor ${formatShape(x.shape)}` : `${/^[aeiou]/.test(typeof x) ? 'an' : 'a'} ${typeof x}`;

/** Right(the definition) when every field has the type the battery needs, else Left(what is wrong). */
export const validateObjectiveDefinition = (definition: ObjectiveDefinition, where = 'the objective'): Either<string, ObjectiveDefinition> => {
  const { objective, options, temperatures, symmetric, properties, reference } = definition;
  if (typeof objective !== 'function') return left(`${where}: the objective must be a function of a [2m, d] features tensor; got ${describe(objective)}`);
  if (reference !== undefined && typeof reference !== 'function')
    return left(`${where}: \`reference\` must be a second implementation of the objective, a function of the same arguments; got ${describe(reference)}`);
  if (options !== undefined && !isPlainObject(options)) return left(`${where}: \`options\` must be an object (the objective's second argument); got ${describe(options)}`);
  if (temperatures !== undefined && (!Array.isArray(temperatures) || !temperatures.every(isPlainObject)))
    return left(`${where}: \`temperatures\` must be a list of option objects, e.g. [{ temperature: 0.05 }, { temperature: 0.5 }]; got ${describe(temperatures)}`);
  if (symmetric !== undefined && typeof symmetric !== 'boolean') return left(`${where}: \`symmetric\` must be true or false; got ${describe(symmetric)}`);
  if (properties !== undefined) {
    if (!Array.isArray(properties)) return left(`${where}: \`properties\` must be a list of { name, property: (features, context) => boolean | void }; got ${describe(properties)}`);
    const bad = properties.findIndex((p) => !isPlainObject(p) || typeof p.name !== 'string' || typeof p.property !== 'function');
    if (bad >= 0) return left(`${where}: \`properties[${bad}]\` must be { name: string, property: (features, context) => boolean | void }; got ${describe(properties[bad])}`);
  }
  return pipe(returnsScalar(objective, options ?? {}, where), map(() => definition));
};

/** Two instances in three dimensions, unit rows apart from one another: a first call to see what the objective does. */
export const probeFeatures = (): ObjectiveFeatures => tensor([0.6, 0.8, 0, 0, 0.6, 0.8, 0.8, 0, 0.6, -0.6, 0.8, 0], [4, 3]);

/**
 * Left when the objective returns something other than a one-element tensor. An objective that
 * throws here is Right: what it throws is a finding of the battery, reported by every property.
 */
const returnsScalar = (objective: ObjectiveFunction, options: object, where: string): Either<string, void> => {
  let output: unknown;
  try {
    output = objective(probeFeatures(), options);
  } catch {
    return right(undefined);
  }
  if (!isTensor(output))
    return left(
      isPlainObject(output) && 'primitive' in output && 'shape' in output
        ? `${where}: the objective returned a tensor of another copy of the library than the checker's. A .ts file outside ` +
            'a package whose package.json says "type": "module" is compiled as CommonJS and loads its own copy: name it .mts, or put it in the project'
        : `${where}: the objective must return a scalar Tensor; for features [4, 3] it returned ${describe(output)}`,
    );
  if (output.size !== 1) return left(`${where}: the objective must return a scalar Tensor; for features [4, 3] it returned shape ${formatShape(output.shape)}`);
  return right(undefined);
};

/** Wraps a function the user wrote (`what` names it), so that each call runs where it can be stopped. */
export type UserFunctionGuard = <F extends (...args: never[]) => unknown>(f: F, what: string) => F;

/** The definition with each of its functions that is one passed through `guard` (the others are left for validation to name). */
const guardFunctions = (definition: ObjectiveDefinition, guard: UserFunctionGuard, file: string): ObjectiveDefinition => {
  const { objective, reference, properties } = definition;
  return {
    ...definition,
    objective: guard(objective, `the objective in ${file}`),
    reference: typeof reference === 'function' ? guard(reference, `the reference in ${file}`) : reference,
    properties: Array.isArray(properties)
      ? properties.map((p) => (isPlainObject(p) && typeof p.property === 'function' ? { ...p, property: guard(p.property as ObjectiveProperty['property'], `the property "${String(p.name)}" in ${file}`) } : p))
      : properties,
  };
};

/**
 * The definition a module exports: the objective as `objective` or as the default export, and
 * optionally `options`, `temperatures`, `symmetric`, `properties` and `reference`. A module compiled as
 * CommonJS arrives with its exports under `default`; those are read too. Every function of it is
 * called through `guard`, from the first call that validates it on.
 */
export const objectiveFromModule = (exports: Record<string, unknown>, file: string, guard: UserFunctionGuard = (f) => f): Either<string, ObjectiveDefinition> => {
  const nested = isPlainObject(exports.default) ? exports.default : {};
  const field = (name: string): unknown => (exports[name] !== undefined ? exports[name] : nested[name]);
  const objective = [exports.objective, exports.default, nested.objective, nested.default].find((x) => typeof x === 'function');
  if (objective === undefined) {
    const names = Object.keys(exports).filter((k) => k !== 'default' || exports.default !== undefined);
    const found =
      exports.objective !== undefined ? `\`objective\` is ${describe(exports.objective)}`
      : exports.default !== undefined ? `the default export is ${describe(exports.default)}`
      : `the file exports ${names.length === 0 ? 'nothing' : names.map((k) => `\`${k}\``).join(', ')}`;
    return left(`${file}: expected the objective, a function (features: Tensor [2m, d], options) => scalar Tensor, exported as \`default\` or as \`objective\`; ${found}`);
  }
  return validateObjectiveDefinition(
    guardFunctions({
      name: file,
      objective: objective as ObjectiveFunction,
      options: field('options') as ObjectiveOptions | undefined,
      temperatures: field('temperatures') as ObjectiveOptions[] | undefined,
      symmetric: field('symmetric') as boolean | undefined,
      properties: field('properties') as ObjectiveProperty[] | undefined,
      reference: field('reference') as ObjectiveFunction | undefined,
    }, guard, file),
    file,
  );
};
