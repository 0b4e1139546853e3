// Which stopGradient nodes finite differences cannot judge. checkGrad holds every stopGradient
// node at its value, so its finite differences agree with the gradient wherever a stopGradient
// sits. Where the output does not depend on the node's value (the maximum that shifts a
// log-sum-exp cancels), every placement gives the same gradient and nothing is lost. Where it
// does, the placement decides the gradient, and only a second implementation can say which one
// is meant: these are the nodes to report.

import type { Tensor } from '../tensor.ts';
import { evaluateNodes } from '../interpret.ts';
import { stopGradientNodes } from './check-grad.ts';
import { uniformNumbers } from './sample.ts';

/** The stopGradient nodes whose value, moved by about 0.1%, moves `output` beyond rounding. */
export const influentialStopGradients = (output: Tensor): Tensor[] => {
  const nodes = stopGradientNodes(output);
  const [base, ...values] = evaluateNodes([output, ...nodes]);
  return nodes.filter((node, i) => {
    const direction = uniformNumbers(i + 1, node.size, -1, 1);
    const moved = values[i].data.map((v, k) => v + 1e-3 * (1 + Math.abs(v)) * direction[k]);
    const [after] = evaluateNodes([output], { bindings: new Map([[node, moved]]) });
    // A NaN counts as moved: the output depends on the node somehow.
    return after.data.some((v, k) => !(Math.abs(v - base.data[k]) <= 1e-9 * Math.max(1, Math.abs(base.data[k]))));
  });
};
