// Why a run started by tsx's command line (`npx tsx examples/cifar10.ts`) runs in a child of its
// own: tsx's command line starts the script in a child node and relays each SIGINT it gets to
// it; a child that has not answered within about 30 ms (its main thread busy tracing, building
// kernels or running a step) is sent SIGINT again and then killed. A training run's main thread
// is busy for seconds at a time, so a Ctrl-C became a "second Ctrl-C" or a kill. Here the
// process tsx started stays idle and answers at once, and the run goes on in a child of it, a
// plain `node --import tsx`, with no relay: being in the terminal's process group, it gets the
// terminal's one SIGINT directly.

import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** tsx's command line preloads this file into the child it starts; nothing else does. */
const TSX_PREFLIGHT = /[\\/]tsx[\\/]dist[\\/](preflight|patch-repl)\.cjs$/;

/** Set in the run's child, so that it never starts another. */
const RELAYED = 'TENSORSPREAD_RUN_BEHIND_TSX';

/** Is this process the child that tsx's command line started, with its signal relay? */
export const startedByTsxCommand = (execArgv: readonly string[] = process.execArgv, env = process.env): boolean =>
  env[RELAYED] === undefined && execArgv.some((argument) => TSX_PREFLIGHT.test(argument.replace(/^--require=/, '')));

/** The node options of this process less tsx's preloads: its loader stays, as under `node --import tsx`. */
export const withoutTsxPreloads = (execArgv: readonly string[]): string[] => {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    if ((execArgv[i] === '--require' || execArgv[i] === '-r') && TSX_PREFLIGHT.test(execArgv[i + 1] ?? '')) i++;
    else if (!TSX_PREFLIGHT.test(execArgv[i].replace(/^--require=/, ''))) kept.push(execArgv[i]);
  }
  return kept;
};

/**
 * Runs this script with the same arguments in a child process and ends as it ends: its exit
 * status, or its signal. Never returns.
 */
export const runScriptInChild = (): Promise<never> =>
  new Promise(() => {
    // The IPC channel is the child's way of knowing this process is gone (killed -9, say): it
    // closes then, and the run stops rather than training on as an orphan (whenStarterEnds).
    const child = spawn(process.execPath, [...withoutTsxPreloads(process.execArgv), ...process.argv.slice(1)], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [RELAYED]: '1' },
    });
    // SIGINT is not passed on: the child, in the same process group, has the terminal's own,
    // and a second would read as a second Ctrl-C. Having a listener keeps this process alive,
    // and tsx's preload answers tsx's relay from this idle process at once.
    process.on('SIGINT', () => undefined);
    // These end the child as they would have ended the script.
    for (const signal of ['SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
    child.on('error', (cause) => {
      console.error(`cannot start the run's process: ${cause.message}`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      process.exit(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });

/**
 * In the run's child: calls `handler` once if the process that started it ends first (its IPC
 * channel closes). The channel does not keep the child alive.
 */
export const whenStarterEnds = (handler: () => void, env = process.env): void => {
  if (env[RELAYED] === undefined || process.channel === undefined) return;
  process.channel.unref();
  process.once('disconnect', handler);
};
