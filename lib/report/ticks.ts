// "Nice" axis ticks: steps of 1, 2 or 5 x 10^k, so tick labels are numbers a
// reader can interpolate between at a glance (0, 0.5, 1.0 rather than 0.37, 0.74).

export interface Ticks {
  /** Axis lower bound: a multiple of `step` at or below the data. */
  readonly min: number;
  /** Axis upper bound: a multiple of `step` at or above the data. */
  readonly max: number;
  readonly step: number;
  /** Tick positions from min to max inclusive. */
  readonly values: readonly number[];
  /** Digits after the decimal point that show every tick exactly. */
  readonly decimals: number;
}

/** The smallest 1/2/5 x 10^k step that splits `span` into at most `maxTicks` intervals. */
export function niceStep(span: number, maxTicks: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, maxTicks);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  // Small epsilon so e.g. raw = 2.0000000001 * mag still picks 2, not 5.
  const nice = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10;
  return nice * mag;
}

function decimalsFor(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

export interface TickOptions {
  /** Only whole-number ticks (for epochs): the step is at least 1. */
  integer?: boolean;
}

/**
 * Nice ticks covering [lo, hi]. A zero-width range (one point, or a constant
 * series) is widened first so the axis still has a scale to draw.
 */
export function niceTicks(lo: number, hi: number, maxTicks = 6, options: TickOptions = {}): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (lo > hi) [lo, hi] = [hi, lo];
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(lo))) {
    if (options.integer) {
      // One epoch: show it with a neighbour, never a negative epoch.
      const v = Math.round(lo);
      lo = v >= 1 ? v - 1 : v;
      hi = v + 1;
    } else {
      const pad = lo === 0 ? 1 : Math.abs(lo) * 0.05;
      lo -= pad;
      hi += pad;
    }
  }
  let step = niceStep(hi - lo, maxTicks);
  if (options.integer) step = Math.max(1, Math.round(step));
  const decimals = decimalsFor(step);
  const round = (v: number): number => Number(v.toFixed(decimals + 2));
  const min = round(Math.floor(lo / step + 1e-9) * step);
  const max = round(Math.ceil(hi / step - 1e-9) * step);
  const count = Math.round((max - min) / step);
  const values = Array.from({ length: count + 1 }, (_, i) => round(min + i * step));
  return { min, max, step, values, decimals };
}

/** A tick label with a fixed number of decimals; never prints "-0". */
export function formatTick(value: number, decimals: number): string {
  const s = value.toFixed(decimals);
  return Number(s) === 0 ? (0).toFixed(decimals) : s;
}
