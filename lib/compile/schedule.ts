// The scheduler decides kernel boundaries. A node is materialized (gets its own buffer, written
// by its own kernel or supplied from outside) when it is
//  - an argument or a non-scalar constant (supplied from outside),
//  - an output of the compiled function,
//  - a boundary primitive: a reduction, matmul, conv2d, pooling, scatterAdd, or a primitive the
//    code generator cannot express (it runs on the host),
//  - or used by several kernels, or at several indices by one kernel, and more than a few
//    operations (recomputing it per use would repeat more work than a buffer costs),
//  - or costly (a random draw) and read by a kernel larger than itself.
// Everything else (elementwise chains, movement, gathers) fuses into its consumer's kernel as
// index arithmetic and inline expressions.

import type { Tensor } from '../tensor.ts';
import { type KernelRule, kernelRule } from './rules.ts';
import { postOrder, valueInputsOf } from '../graph.ts';
import { constantDataOf } from '../primitives/constant.ts';
import { nativeOperands } from '../native/native-step.ts';

export interface Schedule {
  /** Materialized nodes in topological order (inputs before users). */
  readonly order: readonly Tensor[];
  readonly materialized: ReadonlySet<Tensor>;
}

/** Nodes whose recomputation costs about as much as reading a buffer. */
const cheap = (node: Tensor): boolean =>
  node.primitive.leaf === true || node.primitive.remapsIndexOnly === true && node.inputs.every(cheap);

const rereadsInputs = (rule: KernelRule): boolean => rule.kind === 'boundary' && rule.rereadsInputs === true;

export const isScalarConstant = (node: Tensor): boolean => constantDataOf(node) !== undefined && node.size === 1;

/**
 * A costly node (a random draw's hash, hundreds of operations an element) that a larger kernel
 * reads: each of its elements would be computed again for every plane or element of that
 * kernel that reads it (a per-image draw, three times an image in a kernel over channels, and
 * once an element on a GPU). It is computed once, into a buffer of its own size, instead.
 */
const spreadCostly = (node: Tensor, rule: KernelRule, reaching: ReadonlySet<Tensor>): boolean =>
  rule.kind === 'fused' && rule.costly === true && [...reaching].some((root) => root.size > node.size);

/**
 * `native`: the nodes that run on the native kernels. They are materialized, and so is every
 * buffer they read through transposes and flips (the native kernels read those as views).
 */
export const schedule = (outputs: readonly Tensor[], materialize: ReadonlySet<Tensor> = new Set(), native: (node: Tensor) => boolean = () => false): Schedule => {
  // Inputs that only a gradient needs (a custom VJP's primals) need not be computed.
  const inputsOf = valueInputsOf;
  const order = postOrder(outputs, { inputsOf });
  const outputSet = new Set(outputs);
  const materialized = new Set<Tensor>();
  // Nodes that must have buffers whatever their consumers do.
  for (const node of order) {
    const leaf = node.primitive.leaf === true;
    const rule = kernelRule(node);
    if (outputSet.has(node) || materialize.has(node) || (leaf && !isScalarConstant(node)) || rule.kind === 'host' || node.size === 0)
      materialized.add(node);
    // A host step reads its inputs from buffers.
    if (rule.kind === 'host') for (const input of inputsOf(node)) if (!isScalarConstant(input)) materialized.add(input);
    if (native(node)) {
      materialized.add(node);
      for (const operand of nativeOperands(node)) materialized.add(operand.base);
    }
  }
  // matmul and conv2d read every element of their inputs many times (their rules say so): an
  // elementwise input computed inline would be recomputed each time, so it gets a buffer.
  // Movement (transposes, slices) stays fused: it is only index arithmetic.
  for (const node of order)
    if (rereadsInputs(kernelRule(node)) && !native(node))
      for (const input of node.inputs) if (!cheap(input) && !isScalarConstant(input) && kernelRule(input).kind === 'fused') materialized.add(input);
  // Consumers before producers: a fused node is inlined into every kernel that reaches it
  // through fused nodes. Reached from two kernels and not cheap, it gets its own buffer instead
  // of being computed twice; reached from one kernel twice, the kernel computes it once.
  //
  // A boundary node (a reduction, matmul, convolution, pooling) fuses into its consumer only as
  // an epilogue: one kernel reaches it, through elementwise operations alone, so it is computed
  // once per output element of that kernel (conv2d + bias + relu is one kernel). Any other
  // boundary node gets its own kernel.
  const kernelsReaching = new Map<Tensor, Set<Tensor>>();
  const elementwiseFromRoot = new Map<Tensor, boolean>();
  // A node read by several consumers, one of them at another index (a slice, a gather, a
  // reduction), is computed once for each index it is read at, even inside one kernel: the
  // channels of one pixel read by a grayscale conversion, each recomputing a colour jitter.
  const uses = new Map<Tensor, { all: number; remapped: number }>();
  const readAtSeveralIndices = (node: Tensor) => {
    const counts = uses.get(node);
    return counts !== undefined && counts.all > 1 && counts.remapped > 0;
  };
  // Arithmetic in a fused expression, up to its leaves (a shared subexpression counted per use,
  // as the kernel would recompute it), capped: a handful of operations costs less to recompute
  // than a buffer costs to write and read.
  const RECOMPUTED_OPERATIONS = 8;
  const RECOMPUTED_OVER_BUFFERS = 2;
  // Operations a kernel recomputes for a node: counted down to the nodes `stops` at (read from
  // a buffer, or costing nothing), capped at RECOMPUTED_OPERATIONS.
  const operationCounter = (stops: (node: Tensor) => boolean) => {
    const counts = new Map<Tensor, number>();
    const count = (node: Tensor): number => {
      let operations = counts.get(node);
      if (operations === undefined) {
        const rule = kernelRule(node);
        operations =
          // A boundary node under a node read by several kernels is read by them all: it has a buffer.
          stops(node) || node.primitive.leaf === true || rule.kind === 'host' || rule.kind === 'boundary' ? 0
          : rule.kind === 'fused' && rule.costly ? RECOMPUTED_OPERATIONS
          : Math.min(RECOMPUTED_OPERATIONS, (node.primitive.elementwise !== undefined ? 1 : 0) + inputsOf(node).reduce((total, input) => total + count(input), 0));
        counts.set(node, operations);
      }
      return operations;
    };
    return { count, readFromBuffer: (node: Tensor) => counts.set(node, 0) };
  };
  const operationsIn = operationCounter(() => false).count;
  // Fused nodes given a buffer because several kernels read them.
  const sharedBuffers: Tensor[] = [];
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k];
    const reaching = kernelsReaching.get(node) ?? new Set<Tensor>();
    const rule = kernelRule(node);
    if (!materialized.has(node) && !isScalarConstant(node)) {
      const [input] = node.inputs as Tensor[];
      if (rule.kind === 'fused' && rule.spreadsInput && reaching.size > 1 && !cheap(node) && input.size < node.size && !isScalarConstant(input))
        // A broadcast reached from several kernels: its smaller input gets the buffer, and each
        // kernel re-reads it (as cheap as reading a buffer of the broadcast's size, which would
        // have to be written and carried between pipelines first).
        materialized.add(input);
      else if (
        rule.kind === 'boundary' ? reaching.size !== 1 || elementwiseFromRoot.get(node) !== true
        : ((reaching.size > 1 || readAtSeveralIndices(node)) && !cheap(node) && operationsIn(node) >= RECOMPUTED_OPERATIONS) || spreadCostly(node, rule, reaching)
      ) {
        materialized.add(node);
        if (rule.kind !== 'boundary') sharedBuffers.push(node);
      }
    }
    const isRoot = materialized.has(node);
    const roots = isRoot ? new Set([node]) : reaching;
    const passesIndexThrough = node.primitive.elementwise !== undefined && (isRoot || elementwiseFromRoot.get(node) === true);
    // A native step reads the buffers under its views directly: it computes none of its inputs.
    for (const input of native(node) ? [] : inputsOf(node)) {
      const set = kernelsReaching.get(input) ?? new Set<Tensor>();
      roots.forEach((root) => set.add(root));
      kernelsReaching.set(input, set);
      const sameShape = input.shape.length === node.shape.length && input.shape.every((d, i) => d === node.shape[i]);
      elementwiseFromRoot.set(input, (elementwiseFromRoot.get(input) ?? true) && passesIndexThrough && sameShape);
      const sameIndex = node.primitive.elementwise !== undefined && sameShape;
      const counts = uses.get(input) ?? { all: 0, remapped: 0 };
      uses.set(input, { all: counts.all + 1, remapped: counts.remapped + (sameIndex ? 0 : 1) });
    }
  }
  // A second look at those, producers first, now that every buffer they read is known: their
  // operations were counted up to the leaves, through nodes that were given buffers only after
  // them (consumers are decided first). Over buffers, a comparison of a ReLU's output with its
  // max pool's (the pool's gradient, read by a sum and a product) is one operation a kernel
  // recomputes for less than a buffer costs to write and read again.
  const overBuffers = operationCounter((node) => materialized.has(node));
  // Producers first: a node's count reads only earlier nodes, whose buffers are settled. Only
  // a couple of operations: a kernel may read the node at several indices (a pooling window),
  // and a batch norm recomputed at each of them cost more than its buffer.
  for (const node of sharedBuffers.reverse()) {
    materialized.delete(node);
    if (overBuffers.count(node) <= RECOMPUTED_OVER_BUFFERS) continue;
    materialized.add(node);
    // Read from its buffer by what reads it.
    overBuffers.readFromBuffer(node);
  }
  return { order: order.filter((node) => materialized.has(node)), materialized };
};
