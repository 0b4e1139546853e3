// Train and evaluate an embedding on CIFAR-10: `tsx examples/cifar10.ts --help` lists the
// options. The command is lib/train/command.ts, imported only once it is known to run here:
// under tsx's command line this process only starts the run's own (see tsx-relay.ts).

import { runScriptInChild, startedByTsxCommand } from '../lib/train/tsx-relay.ts';

if (startedByTsxCommand()) await runScriptInChild();
else await (await import('../lib/train/command.ts')).runCifar10Command(process.argv.slice(2));
