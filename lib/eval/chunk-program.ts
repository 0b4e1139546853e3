// Running one graph of the language over many chunks of host data, through the float64
// interpreter (the reference) or compiled (float32 kernels on the chosen backend, traced once per argument
// shapes). The retrieval and clustering metrics loop over chunks on the host so that no N x N
// matrix ever exists; this module is the one place where a chunk's graph meets an evaluator.

import type { Tensor } from '../tensor.ts';
import { tensor } from '../constants.ts';
import { interpret } from '../interpret.ts';
import { type BackendName, compile } from '../compile/index.ts';
import { formatShape, ShapeError } from '../shape.ts';

/** A concrete matrix or vector on the host, row-major. */
export interface HostArray {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number> & { readonly length: number };
}

export interface EvaluationOptions {
  /** Evaluate through the float64 interpreter instead of compiled kernels: the reference, slow on large inputs. */
  readonly interpreted?: boolean;
  /** The compiled backend; by default the best that works here. */
  readonly backend?: BackendName;
  /** Degradations (a backend passed over, a step on the host) go here, by default to stderr. */
  readonly onWarning?: (message: string) => void;
}

type Arguments = Record<string, HostArray>;

/** A chunk's graph run on host arrays; `destroy` releases the compiled kernels. */
export interface ChunkProgram<A extends Arguments> {
  readonly run: (args: A) => Promise<ArrayLike<number>>;
  readonly destroy: () => Promise<void>;
}

const asTensors = <A extends Arguments>(args: A): Record<keyof A, Tensor> =>
  Object.fromEntries(Object.entries(args).map(([name, value]) => [name, tensor(value.data, value.shape)])) as Record<keyof A, Tensor>;

export const chunkProgram = <A extends Arguments>(
  graph: (args: Record<keyof A, Tensor>) => Tensor,
  { interpreted = false, backend, onWarning }: EvaluationOptions = {},
): ChunkProgram<A> => {
  if (interpreted) return { run: async (args) => interpret(graph(asTensors(args))).data, destroy: async () => undefined };
  const program = compile(graph as (args: Record<string, Tensor>) => Tensor, { backend, onWarning });
  return { run: async (args) => (await program(args as never)).data, destroy: () => program.destroy() };
};

/** Runs `body` with a chunk program and releases the program afterwards, whatever happens. */
export const withChunkProgram = async <A extends Arguments, R>(
  graph: (args: Record<keyof A, Tensor>) => Tensor,
  options: EvaluationOptions,
  body: (run: ChunkProgram<A>['run']) => Promise<R>,
): Promise<R> => {
  const program = chunkProgram<A>(graph, options);
  try {
    return await body(program.run);
  } finally {
    await program.destroy();
  }
};

/** The [rows, width] of a matrix filled by its data, or a ShapeError naming the function and argument. */
export const matrixShape = (where: string, name: string, matrix: HostArray): [number, number] => {
  const { shape, data } = matrix;
  if (shape.length !== 2 || shape[0] * shape[1] !== data.length)
    throw new ShapeError(`${where}: ${name} must be a [rows, dimension] matrix filled by its data, got shape ${formatShape(shape)} with ${data.length} values`);
  return [shape[0], shape[1]];
};

/** Rows [start, stop) of a row-major matrix as a host array (a view when the data allows it). */
export const rowsOf = (matrix: HostArray, start: number, stop: number): HostArray => {
  const width = matrix.shape[1];
  const data = matrix.data as ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> };
  const rows = data.subarray !== undefined ? data.subarray(start * width, stop * width) : Array.prototype.slice.call(data, start * width, stop * width);
  return { shape: [stop - start, width], data: rows };
};

/** The chunks [start, stop) of `count` rows, `chunkSize` at a time. */
export const chunkRanges = (count: number, chunkSize: number): [number, number][] =>
  Array.from({ length: Math.ceil(count / chunkSize) }, (_, i) => [i * chunkSize, Math.min(count, (i + 1) * chunkSize)]);
