// The typed error of the data layer and the helpers that turn it into a thrown
// exception for scripts. Everything at the edge (files, archives, network)
// returns Either/TaskEither of DataError so callers can decide how to fail.
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';

export type DataErrorKind =
  | 'bad-size' // a .bin file is not a whole number of records (CIFAR-10's 3073 bytes, STL-10's 27648), or labels and images differ in number
  | 'bad-label' // a label byte outside the classes (CIFAR-10: 0..9, STL-10: 1..10)
  | 'bad-meta' // batches.meta.txt or class_names.txt does not hold ten class names
  | 'missing-file' // a required file or the given path does not exist
  | 'bad-archive' // the .tar.gz cannot be read or holds something unexpected
  | 'download-failed' // network/file transfer failed (after retries)
  | 'checksum-mismatch' // downloaded bytes have the wrong md5 (after retries)
  | 'io-error'; // any other file-system failure

export interface DataError {
  kind: DataErrorKind;
  /** The file, folder, archive or URL the error is about. */
  file: string;
  /** Byte offset inside `file`, when the error is about a position in it. */
  offset?: number;
  /** A full sentence naming the file, the offset and what was expected. */
  message: string;
}

export const dataError = (kind: DataErrorKind, file: string, message: string, offset?: number): DataError =>
  offset === undefined ? { kind, file, message } : { kind, file, offset, message };

/** One line for a terminal; adds the full location when the message only has a short name. */
export const formatDataError = (e: DataError): string =>
  e.message.includes(e.file) ? `[${e.kind}] ${e.message}` : `[${e.kind}] ${e.message} (${e.file})`;

/** Thrown by the orThrow helpers; keeps the structured error for catch blocks. */
export class DataErrorException extends Error {
  readonly dataError: DataError;
  constructor(e: DataError) {
    super(formatDataError(e));
    this.name = 'DataErrorException';
    this.dataError = e;
  }
}

export const isDataError = (x: unknown): x is DataError =>
  typeof x === 'object' && x !== null && typeof (x as DataError).kind === 'string' &&
  typeof (x as DataError).file === 'string' && typeof (x as DataError).message === 'string';

/** Unwrap an Either, throwing a DataErrorException on Left. */
export const orThrow = <A>(result: E.Either<DataError, A>): A => {
  if (E.isLeft(result)) throw new DataErrorException(result.left);
  return result.right;
};

/** Run a TaskEither and unwrap it: `const data = await orThrowTask(ensureCifar10({...}))`. */
export const orThrowTask = async <A>(task: TE.TaskEither<DataError, A>): Promise<A> => orThrow(await task());

/** Message of an unknown thrown value, for wrapping Node errors. */
export const describeCause = (cause: unknown): string => {
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code !== undefined && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
  }
  return String(cause);
};

export const errnoCode = (cause: unknown): string | undefined =>
  cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined;
