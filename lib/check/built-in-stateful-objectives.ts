// The built-in stateful objectives as the battery checks them, by the names a run selects them
// with (--objective memory-bank, --objective exemplar), each with its second implementation.

import { exemplarObjective } from '../objectives/exemplar.ts';
import { memoryBankObjective } from '../objectives/memory-bank.ts';
import type { StatefulObjectiveDefinition } from './stateful-objective-definition.ts';
import { exemplarReference, memoryBankReference } from './stateful-references.ts';

export const builtInStatefulDefinitions: Readonly<Record<'memory-bank' | 'exemplar', StatefulObjectiveDefinition>> = {
  'memory-bank': { name: 'memory-bank', objective: memoryBankObjective, options: { temperature: 0.07, momentum: 0.5 }, reference: memoryBankReference },
  exemplar: { name: 'exemplar', objective: exemplarObjective, options: { temperature: 0.07, cosine: true }, reference: exemplarReference },
};
