// The progress line of the training steps: a cli-progress bar on the terminal with the loss,
// the images per second and the time left, from the recent steps that ran built kernels (the
// caller leaves out a step that also traced and built them).

import { SingleBar } from 'cli-progress';

/** 3h07m, 4m05s, 12s. */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
};

/** Seconds per step, the mean of the last `window` recorded; NaN before the first. */
export class StepTimer {
  private readonly durations: number[] = [];
  constructor(private readonly window = 20) {}
  record(seconds: number): void {
    this.durations.push(seconds);
    if (this.durations.length > this.window) this.durations.shift();
  }
  secondsPerStep(): number {
    return this.durations.length === 0 ? NaN : this.durations.reduce((a, b) => a + b, 0) / this.durations.length;
  }
}

export interface StepProgress {
  readonly start: (epoch: number, epochs: number, steps: number, done: number) => void;
  readonly update: (done: number, loss: number, imagesPerSecond: number, secondsLeft: number) => void;
  readonly stop: () => void;
  /** End the bar's line, so that a message printed next starts on a line of its own. */
  readonly breakLine: () => void;
}

export const stepProgress = (enabled: boolean, stream: NodeJS.WriteStream = process.stderr): StepProgress => {
  const bar = enabled && stream.isTTY
    ? new SingleBar({
        stream,
        format: 'epoch {epoch} [{bar}] {value}/{total} steps | loss {loss} | {speed} images/s | {left} left',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
      })
    : undefined;
  let active = false;
  return {
    start: (epoch, epochs, steps, done) => {
      bar?.start(steps, done, { epoch: `${epoch}/${epochs}`, loss: '-', speed: '-', left: '?' });
      active = bar !== undefined;
    },
    update: (done, loss, imagesPerSecond, secondsLeft) => {
      bar?.update(done, {
        loss: loss.toFixed(4),
        speed: Number.isFinite(imagesPerSecond) ? imagesPerSecond.toFixed(1) : '-',
        left: formatDuration(secondsLeft),
      });
    },
    stop: () => {
      if (active) bar?.stop();
      active = false;
    },
    breakLine: () => {
      if (active) stream.write('\n');
    },
  };
};

export interface CountProgress {
  readonly start: (label: string, total: number) => void;
  readonly update: (done: number) => void;
  readonly stop: () => void;
}

/** A plain counting bar (the evaluation's images), shown only on a terminal. */
export const countProgress = (enabled: boolean, unit: string, stream: NodeJS.WriteStream = process.stderr): CountProgress => {
  const bar = enabled && stream.isTTY
    ? new SingleBar({ stream, format: `{label} [{bar}] {value}/{total} ${unit}`, barsize: 24, hideCursor: true, clearOnComplete: true })
    : undefined;
  let active = false;
  return {
    start: (label, total) => {
      bar?.start(total, 0, { label });
      active = bar !== undefined;
    },
    update: (done) => bar?.update(done),
    stop: () => {
      if (active) bar?.stop();
      active = false;
    },
  };
};
