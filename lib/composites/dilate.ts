// dilate: insert `step - 1` zeros between neighbours along one axis ((n - 1) * step + 1 long).
// The VJP of a strided slice and of a strided convolution both need it; built from reshape, pad
// and slice, so it differentiates like any other program.

import type { Tensor } from '../tensor.ts';
import { reshape } from '../primitives/reshape.ts';
import { pad } from '../primitives/pad.ts';
import { slice } from '../primitives/slice.ts';

export const dilate = (x: Tensor, axis: number, step: number): Tensor => {
  const n = x.shape[axis];
  if (step === 1 || n === 0) return x;
  const before = x.shape.slice(0, axis);
  const after = x.shape.slice(axis + 1);
  // [..., n, 1, ...] padded to [..., n, step, ...] puts step-1 zeros after every element.
  const spaced = pad(
    reshape(x, [...before, n, 1, ...after]),
    [...before.map(() => [0, 0] as const), [0, 0] as const, [0, step - 1] as const, ...after.map(() => [0, 0] as const)],
  );
  const flat = reshape(spaced, [...before, n * step, ...after]);
  return slice(flat, [...before.map(() => undefined), { stop: (n - 1) * step + 1 }]);
};
