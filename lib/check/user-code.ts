// A user's code (an objective file: its import, and every call of a function it exports) runs
// where it can be stopped. A loop that never returns blocks the thread it runs on, and a signal
// handler of that thread never runs; so:
// - a call runs inside a vm script with a time limit, and one that runs on gets `breakOnSigint`
//   too: V8 stops the script at the limit, or at Ctrl-C from a watchdog of its own, whatever the
//   code is doing. The Ctrl-C is then raised again, so that the process's own handlers hear it;
// - a module is first imported in a worker thread, which can be ended from outside; only once it
//   has finished there is it imported here. A worker whose event loop empties before the import
//   settles shows a top-level await that nothing will ever settle.

import vm from 'node:vm';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type Either, left, right } from 'fp-ts/lib/Either.js';

/** How long an objective file's import, and each call of what it exports, may take. */
export const DEFAULT_TIME_LIMIT_SECONDS = 60;

export type StopReason = 'ctrl-c' | 'time limit';

/** User code that was stopped: by Ctrl-C, or at its time limit. */
export class UserCodeStopped extends Error {
  readonly reason: StopReason;
  constructor(message: string, reason: StopReason) {
    super(message);
    this.name = 'UserCodeStopped';
    this.reason = reason;
  }
}

export const isStoppedByCtrlC = (cause: unknown): boolean => cause instanceof UserCodeStopped && cause.reason === 'ctrl-c';

const seconds = (limit: number): string => `${limit} s`;

// One context and one script for every call: making a context costs a millisecond, a call far less.
const context = vm.createContext({ call: undefined as unknown });
const callScript = new vm.Script('call()', { filename: 'user code' });

/**
 * How long a call runs before Ctrl-C is watched for. `breakOnSigint` swaps the process's signal
 * handler while a script runs, and a Ctrl-C that lands as it is swapped in or out is lost (tried
 * here: about one in four, with calls of a few milliseconds). So a call first runs with a time
 * limit alone, which leaves signals to the process's handlers; only a call still running after
 * this long (an objective traces in milliseconds) is stopped and run again, pure as it is, with
 * the watchdog that hears Ctrl-C. A Ctrl-C in its first quarter second is heard by the handlers
 * once it returns, or by the next Ctrl-C.
 */
const UNWATCHED_MILLISECONDS = 250;

const run = <T>(call: () => T, options: vm.RunningScriptOptions): T => {
  const outer = context.call;
  context.call = call;
  try {
    return callScript.runInContext(context, options) as T;
  } finally {
    context.call = outer;
  }
};

const codeOf = (cause: unknown): string | undefined => (cause as NodeJS.ErrnoException | undefined)?.code;

/**
 * `call()` run so that Ctrl-C or `timeLimitSeconds` stops it, with a UserCodeStopped naming
 * `where`; what `call` throws passes through unchanged.
 */
export const callUserCode = <T>(call: () => T, where: string, timeLimitSeconds = DEFAULT_TIME_LIMIT_SECONDS): T => {
  const limit = Math.ceil(timeLimitSeconds * 1000);
  const timedOut = () => new UserCodeStopped(`${where} did not return within ${seconds(timeLimitSeconds)} (a loop that never ends?)`, 'time limit');
  try {
    return run(call, { timeout: Math.min(limit, UNWATCHED_MILLISECONDS) });
  } catch (cause) {
    if (codeOf(cause) !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw cause;
    if (limit <= UNWATCHED_MILLISECONDS) throw timedOut();
  }
  try {
    return run(call, { timeout: limit - UNWATCHED_MILLISECONDS, breakOnSigint: true });
  } catch (cause) {
    if (codeOf(cause) === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw timedOut();
    if (codeOf(cause) === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') {
      // The watchdog took the signal from the process's handlers; they hear it now.
      if (process.listenerCount('SIGINT') > 0) process.kill(process.pid, 'SIGINT');
      throw new UserCodeStopped(`Ctrl-C while ${where} ran: stopped it there`, 'ctrl-c');
    }
    throw cause;
  }
};

/**
 * A guard for the functions of one user's module: each call runs by callUserCode, and once one
 * has been stopped, every later call throws the same stop at once. Code that tries a function
 * and treats a throw as a finding (the objective battery, the trial of a run's objective) then
 * reaches the stop in one time limit, not one per try.
 */
export const userCodeGuard = (timeLimitSeconds = DEFAULT_TIME_LIMIT_SECONDS) => {
  let stopped: UserCodeStopped | undefined;
  return <A extends unknown[], R>(f: (...args: A) => R, where: string): ((...args: A) => R) =>
    (...args) => {
      if (stopped !== undefined) throw stopped;
      try {
        return callUserCode(() => f(...args), where, timeLimitSeconds);
      } catch (cause) {
        if (cause instanceof UserCodeStopped) stopped = cause;
        throw cause;
      }
    };
};

// The worker's code: import the module with tsx's API (a worker has no loader of its own), say so.
const probeSource = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.api)
  .then(({ tsImport }) => tsImport(workerData.url, workerData.url))
  .then(() => parentPort.postMessage({ loaded: true }), (error) => parentPort.postMessage({ loaded: false, message: String(error && error.message) }));
`;

type ProbeOutcome = 'loaded' | 'failed' | 'never settles' | 'exited' | 'time limit' | 'ctrl-c';

/** Imports `path` in a worker thread; its output is dropped (the real import prints it once). */
const probeImport = (path: string, timeLimitSeconds: number, signal: AbortSignal | undefined): Promise<ProbeOutcome> =>
  new Promise((resolve) => {
    const worker = new Worker(probeSource, {
      eval: true, stdout: true, stderr: true,
      workerData: { api: import.meta.resolve('tsx/esm/api'), url: pathToFileURL(path).href },
    });
    worker.stdout.resume();
    worker.stderr.resume();
    let settled = false;
    const settle = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      resolve(outcome);
    };
    const onAbort = () => settle('ctrl-c');
    const timer = setTimeout(() => settle('time limit'), Math.ceil(timeLimitSeconds * 1000));
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) onAbort();
    worker.on('message', (message: { loaded: boolean }) => settle(message.loaded ? 'loaded' : 'failed'));
    worker.on('error', () => settle('failed'));
    // An exit before any message: the import neither finished nor failed.
    worker.on('exit', (code) => settle(code === 0 ? 'never settles' : 'exited'));
  });

/**
 * The exports of the module at the absolute `path`, imported once it is known to finish; Left
 * when its import does not finish (with `file` as the user named it), Left(undefined) when the
 * import failed (the caller's own import then says why). Ctrl-C (`signal` aborted) while it is
 * imported throws UserCodeStopped.
 */
export const importUserModule = async (
  path: string,
  file: string,
  { timeLimitSeconds = DEFAULT_TIME_LIMIT_SECONDS, signal }: { readonly timeLimitSeconds?: number; readonly signal?: AbortSignal } = {},
): Promise<Either<string, Record<string, unknown>>> => {
  const outcome = await probeImport(path, timeLimitSeconds, signal);
  if (outcome === 'ctrl-c') throw new UserCodeStopped(`Ctrl-C while ${file} was being imported: stopped it there`, 'ctrl-c');
  if (outcome === 'time limit')
    return left(`${file}: its import did not finish within ${seconds(timeLimitSeconds)} (a loop, or a wait, at the top level of the module?)`);
  if (outcome === 'never settles')
    return left(`${file}: its import never finishes: it awaits, at the top level, a promise that nothing will settle`);
  if (outcome === 'exited') return left(`${file}: its import ended the thread it ran on (process.exit at the top level of the module?)`);
  let exports: Record<string, unknown>;
  try {
    exports = await import(pathToFileURL(path).href);
  } catch (error) {
    return left(`${file}: could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
  }
  return right(exports);
};
