// An RGBA canvas with just the drawing primitives the nearest-neighbour grid needs: rectangles,
// images scaled by whole pixels and bitmap text, all exact, so that tests can read colours back.
// (Charts are drawn by Vega, in render-chart.ts.)
import { PNG } from 'pngjs';

/** An opaque colour, each channel 0..255. */
export type RGB = readonly [number, number, number];

export const WHITE: RGB = [255, 255, 255];
export const BLACK: RGB = [0, 0, 0];

export class Raster {
  readonly width: number;
  readonly height: number;
  /** Row-major RGBA, 4 bytes per pixel; alpha is always 255 (the canvas is opaque). */
  readonly data: Uint8Array;

  constructor(width: number, height: number, background: RGB = WHITE) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new RangeError(`Raster: size must be positive integers, got ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  inside(x: number, y: number): boolean {
    return x >= 0 && y >= 0 && x < this.width && y < this.height;
  }

  getPixel(x: number, y: number): RGB {
    const i = (y * this.width + x) * 4;
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  /** Sets one pixel; out-of-bounds writes are ignored so callers needn't clip. */
  setPixel(x: number, y: number, c: RGB): void {
    if (!this.inside(x, y)) return;
    const i = (y * this.width + x) * 4;
    this.data[i] = c[0];
    this.data[i + 1] = c[1];
    this.data[i + 2] = c[2];
    this.data[i + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, c: RGB): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) this.setPixel(xx, yy, c);
    }
  }

  /** A rectangle outline drawn inside the box (x, y, w, h), `t` pixels thick. */
  strokeRect(x: number, y: number, w: number, h: number, c: RGB, t = 1): void {
    this.fillRect(x, y, w, t, c);
    this.fillRect(x, y + h - t, w, t, c);
    this.fillRect(x, y, t, h, c);
    this.fillRect(x + w - t, y, t, h, c);
  }

  /**
   * Copies a planar (CHW) RGB image, `w` x `h`, to (x, y), each source pixel
   * becoming a `scale` x `scale` block (nearest neighbour, so pixels stay exact).
   * CHW is the CIFAR-10 layout: all red bytes, then all green, then all blue.
   */
  blitPlanarRgb(planes: Uint8Array, w: number, h: number, x: number, y: number, scale = 1): void {
    const plane = w * h;
    if (planes.length !== 3 * plane) {
      throw new RangeError(`blitPlanarRgb: expected ${3 * plane} bytes for ${w}x${h} CHW RGB, got ${planes.length}`);
    }
    for (let sy = 0; sy < h; sy++) {
      for (let sx = 0; sx < w; sx++) {
        const s = sy * w + sx;
        const c: RGB = [planes[s], planes[plane + s], planes[2 * plane + s]];
        this.fillRect(x + sx * scale, y + sy * scale, scale, scale, c);
      }
    }
  }

  /** Encodes the canvas as an 8-bit RGB PNG (no alpha: the canvas is opaque). */
  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return PNG.sync.write(png, { colorType: 2, inputColorType: 6, inputHasAlpha: true });
  }
}
