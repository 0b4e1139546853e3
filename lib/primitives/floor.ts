// floor: piecewise constant, so no gradient flows (index arithmetic in augmentations uses it).
import { unaryOp, unaryPrimitive } from './elementwise.ts';
import { keepsFloat32, withTree } from '../codegen/expression.ts';

export const floorPrimitive = unaryPrimitive('floor', Math.floor, () => [null], (x) => withTree(keepsFloat32`Math.floor(${x})`, { op: 'floor', x }));
export const floor = unaryOp(floorPrimitive);
