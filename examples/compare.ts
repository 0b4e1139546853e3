// Compare objectives side by side: `tsx examples/compare.ts --objectives
// invariant-spreading,memory-bank,exemplar [training flags]` trains one run per objective with
// the same encoder, data, seed and schedule, then charts their kNN top-1 per epoch. `--help`
// lists the flags. Run through tsx's relay as examples/cifar10.ts is (see tsx-relay.ts).

import { runScriptInChild, startedByTsxCommand } from '../lib/train/tsx-relay.ts';

if (startedByTsxCommand()) await runScriptInChild();
else await (await import('../lib/train/compare-command.ts')).runCompareCommand(process.argv.slice(2));
