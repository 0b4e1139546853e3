// Checkpoints as safetensors files: the format, atomic writes, trees of tensors by path.
export { type CheckpointError, CheckpointErrorException, checkpointError } from './errors.ts';
export { MAX_HEADER_BYTES, type Safetensors, type StoredTensor, decodeSafetensors, encodeSafetensors } from './safetensors.ts';
export { type AtomicWriteIo, isTemporaryName, removeStaleTemporaryFiles, temporaryPathFor, writeFileAtomic } from './atomic-write.ts';
export { readCheckpoint, tensorsOfTree, treeOfTensors, writeCheckpoint } from './checkpoint.ts';
