// floor: piecewise constant, so no gradient flows (index arithmetic in augmentations uses it).
import { unaryOp, unaryPrimitive } from './elementwise.ts';

export const floorPrimitive = unaryPrimitive('floor', Math.floor, () => [null], (x) => `Math.floor(${x})`);
export const floor = unaryOp(floorPrimitive);
