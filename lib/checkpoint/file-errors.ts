// What a failed file-system call means, in words a user can act on, and the error of a write
// that names the file it was writing: a bare "ENOSPC: no space left on device, write" names neither.

/** The reason behind a failed call, from its code; the system's own message otherwise. */
export const fileSystemReason = (cause: unknown): string => {
  const { code, message } = (cause ?? {}) as NodeJS.ErrnoException;
  switch (code) {
    case 'ENOSPC': return 'no space left on the device (ENOSPC)';
    case 'EDQUOT': return 'the disk quota is used up (EDQUOT)';
    case 'EROFS': return 'the file system is read-only (EROFS)';
    case 'EACCES':
    case 'EPERM': return `no permission (${code})`;
    case 'EIO': return 'an input/output error of the device (EIO)';
    default: return message ?? String(cause);
  }
};

/** A write that failed: `file` is the file meant, not the temporary one the bytes went to first. */
export class FileWriteError extends Error {
  readonly file: string;
  readonly code: string | undefined;
  constructor(file: string, cause: unknown) {
    super(`cannot write ${file}: ${fileSystemReason(cause)}`);
    this.name = 'FileWriteError';
    this.file = file;
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}
