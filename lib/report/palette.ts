// The charts' colours: Tableau-10, distinct for most kinds of colour vision and also in grey.
import type { RGB } from './raster.ts';

export const TABLEAU_10: readonly RGB[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

/** A colour as CSS writes it, for a spec. */
export const hexColor = ([r, g, b]: RGB): string => `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
