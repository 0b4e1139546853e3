// The linear evaluation of a finished run: `tsx examples/linear-eval.ts --run DIR` trains a linear
// classifier on the frozen backbone features of the run's checkpoint and writes its test top-1
// into DIR/metrics.jsonl (see lib/train/linear-eval-command.ts). Under tsx's command line the
// work runs in a child of its own, as for examples/cifar10.ts (see tsx-relay.ts).

import { runScriptInChild, startedByTsxCommand } from '../lib/train/tsx-relay.ts';

if (startedByTsxCommand()) await runScriptInChild();
else await (await import('../lib/train/linear-eval-command.ts')).runLinearEvalCommand(process.argv.slice(2));
