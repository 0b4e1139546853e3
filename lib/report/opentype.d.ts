// The part of opentype.js the charts use: a font's glyph advance widths. (Its published types
// pull in the DOM library, which changes Node's buffer types project-wide.)
declare module 'opentype.js' {
  export interface Glyph {
    readonly advanceWidth?: number;
  }
  export interface Font {
    readonly unitsPerEm: number;
    charToGlyph(character: string): Glyph;
  }
  const opentype: { parse(buffer: ArrayBuffer): Font };
  export default opentype;
}
