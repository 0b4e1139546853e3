// Walking the traced graph. Every transformation (autodiff, interpretation, scheduling, rewriting,
// counting) visits nodes inputs-first; this is that walk, once. It is iterative, so a deep graph
// (a long training step, a ResNet) cannot overflow the call stack.

import type { Tensor } from './tensor.ts';

export interface PostOrderOptions {
  /** The inputs to follow from a node (all of them by default). */
  readonly inputsOf?: (node: Tensor) => readonly Tensor[];
  /** Nodes whose inputs are not followed (they are visited, as leaves). */
  readonly stopAt?: (node: Tensor) => boolean;
}

/** Every node reachable from `roots`, each once, after all of its (followed) inputs. */
export const postOrder = (roots: readonly Tensor[], { inputsOf = (node) => node.inputs, stopAt }: PostOrderOptions = {}): Tensor[] => {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: { node: Tensor; inputs: readonly Tensor[]; next: number }[] = [];
  const visit = (node: Tensor) => {
    seen.add(node);
    stack.push({ node, inputs: stopAt?.(node) ? [] : inputsOf(node), next: 0 });
  };
  for (const root of roots) {
    if (seen.has(root)) continue;
    visit(root);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      if (frame.next < frame.inputs.length) {
        const input = frame.inputs[frame.next++];
        if (!seen.has(input)) visit(input);
        continue;
      }
      stack.pop();
      order.push(frame.node);
    }
  }
  return order;
};

/** The inputs a node's value is computed from: all of them, unless its primitive says fewer. */
export const valueInputsOf = (node: Tensor): readonly Tensor[] => node.primitive.valueInputs?.(node.inputs) ?? node.inputs;
