// The backends' tables against the registry: every primitive of the language has a lowering in
// each backend or says where it runs instead, and the traits the backends read agree with each
// other. A new primitive that forgets a table fails here, not in a slow end-to-end run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { primitives } from '../lib/primitives/registry.ts';
import { kernelRuleOf, kernelRules } from '../lib/compile/rules.ts';
import { nativeLowerings } from '../lib/native/native-step.ts';

test('every registered primitive has a kernel rule, or an elementwise expression that fuses, or says why it runs on the host', () => {
  for (const primitive of primitives) {
    const rule = kernelRuleOf(primitive);
    assert.ok(rule !== undefined, `${primitive.name} has no kernel rule`);
    if (rule.kind === 'host') assert.ok(rule.why.length > 0, `${primitive.name} runs on the host without saying why`);
    if (rule.kind === 'leaf') assert.equal(primitive.leaf, true, `${primitive.name} has a leaf rule but is not a leaf`);
  }
});

test('the kernel rules and the native lowerings are keyed by registered primitives only', () => {
  const registered = new Set(primitives);
  for (const primitive of [...kernelRules.keys(), ...nativeLowerings.keys()]) assert.ok(registered.has(primitive), `${primitive.name} is not registered`);
});

test('every registered primitive runs natively or as a compiled kernel, and a native one has a kernel for backends without native kernels', () => {
  for (const primitive of primitives) {
    const rule = kernelRuleOf(primitive);
    if (nativeLowerings.has(primitive)) assert.equal(rule?.kind, 'boundary', `${primitive.name} runs natively but has no kernel of its own elsewhere`);
    else assert.ok(rule !== undefined, `${primitive.name} has neither a native lowering nor a kernel rule`);
  }
});

test('the traits agree: a view remaps its index only, and an index remapping moves data only', () => {
  for (const primitive of primitives) {
    if (primitive.view !== undefined) assert.equal(primitive.remapsIndexOnly, true, `${primitive.name} is a view but not an index remapping`);
    if (primitive.remapsIndexOnly) assert.equal(primitive.movesDataOnly, true, `${primitive.name} remaps its index but counts arithmetic`);
    if (primitive.movesDataOnly) assert.equal(primitive.flops, undefined, `${primitive.name} moves data only but counts FLOPs`);
  }
});
