// How hard the property suite tries: PROPS_RUNS (a percentage, 100 by default) scales every
// property's run count. A property that shrinks for too long is cut off and reported as failed
// rather than hanging the suite.
import fc from 'fast-check';

fc.configureGlobal({ interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true });

export const runs = (base: number): number => {
  const percent = Number(process.env.PROPS_RUNS);
  return Number.isFinite(percent) && percent > 0 ? Math.max(1, Math.round((base * percent) / 100)) : base;
};
