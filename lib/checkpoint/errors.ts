// The typed error of checkpoint files: which file, where in it, and what was expected there.
// Readers return it in an Either; scripts that would rather throw use CheckpointErrorException.

export interface CheckpointError {
  /** The file the error is about. */
  readonly file: string;
  /** Byte offset inside the file, when the error is about a position in it. */
  readonly offset?: number;
  /** A full sentence that names the file and, when known, the offset. */
  readonly message: string;
}

export const checkpointError = (file: string, offset: number | undefined, what: string): CheckpointError =>
  offset === undefined
    ? { file, message: `${file}: ${what}` }
    : { file, offset, message: `${file}, byte offset ${offset}: ${what}` };

export class CheckpointErrorException extends Error {
  readonly checkpointError: CheckpointError;
  constructor(error: CheckpointError) {
    super(error.message);
    this.name = 'CheckpointErrorException';
    this.checkpointError = error;
  }
}
