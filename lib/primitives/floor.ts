// floor: piecewise constant, so no gradient flows (index arithmetic in augmentations uses it).
import { unaryOp, unaryPrimitive } from './elementwise.ts';
import { keepsFloat32 } from '../codegen/expression.ts';

export const floorPrimitive = unaryPrimitive('floor', Math.floor, () => [null], (x) => keepsFloat32`Math.floor(${x})`);
export const floor = unaryOp(floorPrimitive);
