// An RGBA canvas with just the drawing primitives the report pictures need.
// Kept deliberately small: everything is integer-pixel except lines and
// circles, which are anti-aliased by coverage so curves don't look jagged.
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

  /** Mixes `c` over the pixel with weight `alpha` (0..1); alpha >= 1 writes `c` exactly. */
  blendPixel(x: number, y: number, c: RGB, alpha: number): void {
    if (alpha <= 0 || !this.inside(x, y)) return;
    if (alpha >= 1) return this.setPixel(x, y, c);
    const i = (y * this.width + x) * 4;
    for (let k = 0; k < 3; k++) {
      this.data[i + k] = Math.round(this.data[i + k] * (1 - alpha) + c[k] * alpha);
    }
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
   * An anti-aliased line segment of the given thickness with round caps.
   * Coverage is estimated from each pixel centre's distance to the segment,
   * which handles any thickness uniformly (Wu's algorithm only does 1 px);
   * pixels well inside the stroke get the exact colour.
   */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thickness = 1): void {
    const r = thickness / 2;
    const minX = Math.floor(Math.min(x0, x1) - r - 1);
    const maxX = Math.ceil(Math.max(x0, x1) + r + 1);
    const minY = Math.floor(Math.min(y0, y1) - r - 1);
    const maxY = Math.ceil(Math.max(y0, y1) + r + 1);
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy;
    for (let py = Math.max(0, minY); py <= Math.min(this.height - 1, maxY); py++) {
      for (let px = Math.max(0, minX); px <= Math.min(this.width - 1, maxX); px++) {
        // Pixel (px, py) covers [px, px+1) x [py, py+1); measure from its centre.
        const cx = px + 0.5;
        const cy = py + 0.5;
        const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((cx - x0) * dx + (cy - y0) * dy) / len2));
        const d = Math.hypot(cx - (x0 + t * dx), cy - (y0 + t * dy));
        this.blendPixel(px, py, c, Math.min(1, r + 0.5 - d));
      }
    }
  }

  /** A filled, anti-aliased disc centred at (cx, cy) in pixel coordinates. */
  fillCircle(cx: number, cy: number, radius: number, c: RGB): void {
    this.line(cx, cy, cx, cy, c, radius * 2);
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
