// select(condition, a, b): a where the condition is non-zero, else b. VJP: the cotangent routed
// to the chosen operand (by select, not by multiplying with the mask, so an infinite or NaN
// value in the branch not taken cannot poison the gradient).
import type { Shape } from '../shape.ts';
import { apply, type Primitive, type Tensor } from '../tensor.ts';
import { broadcastOperands, type Operand, sameShapes } from './elementwise.ts';
import { zerosLike } from '../constants.ts';
import { keepsFloat32, withTree } from '../codegen/expression.ts';

export const selectPrimitive: Primitive<{}> = {
  name: 'select',
  shape: sameShapes('select'),
  evaluate: ([c, a, b]) => c.data.map((x, i) => (x !== 0 ? a.data[i] : b.data[i])),
  vjp: (ct, { inputs: [c] }) => {
    const zero = zerosLike(ct);
    return [null, select(c, ct, zero), select(c, zero, ct)];
  },
  elementwise: ([condition, a, b]) => withTree(keepsFloat32`(${condition} != 0 ? ${a} : ${b})`, { op: 'select', condition, a, b }),
};

/** `where`: elementwise choice with numpy broadcasting of all three operands. */
export const select = (condition: Operand, a: Operand, b: Operand): Tensor<Shape> =>
  apply(selectPrimitive, broadcastOperands('select', [condition, a, b]), {});
