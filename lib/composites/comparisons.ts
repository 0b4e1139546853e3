// The comparisons that are complements of the primitive ones, and clipping.

import type { Tensor } from '../tensor.ts';
import type { Operand } from '../primitives/elementwise.ts';
import { equal } from '../primitives/equal.ts';
import { greater } from '../primitives/greater.ts';
import { less } from '../primitives/less.ts';
import { maximum } from '../primitives/maximum.ts';
import { minimum } from '../primitives/minimum.ts';
import { sub } from '../primitives/sub.ts';

export const lessEqual = (a: Operand, b: Operand): Tensor => sub(1, greater(a as Tensor, b as Tensor));
export const greaterEqual = (a: Operand, b: Operand): Tensor => sub(1, less(a as Tensor, b as Tensor));
export const notEqual = (a: Operand, b: Operand): Tensor => sub(1, equal(a as Tensor, b as Tensor));
export const clip = (x: Tensor, low: number, high: number): Tensor => minimum(maximum(x, low), high);
