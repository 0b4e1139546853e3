// Writing a generated dataset's files as its official release lays them out: a folder of files,
// or a .tar.gz holding that folder, byte for byte reproducible (for the download tests' md5s).
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';

export type NamedBytes = { readonly name: string; readonly bytes: Uint8Array };

/** Writes `files` into `dir/folder/`; returns that folder. */
export const writeDatasetFolder = async (dir: string, folder: string, files: readonly NamedBytes[]): Promise<string> => {
  const target = path.join(dir, folder);
  await fsp.mkdir(target, { recursive: true });
  for (const f of files) await fsp.writeFile(path.join(target, f.name), f.bytes);
  return target;
};

/** Writes a .tar.gz holding `folder/` with `files`, like an official archive; returns its md5. */
export const writeDatasetArchive = async (archivePath: string, folder: string, files: readonly NamedBytes[]): Promise<string> => {
  const staging = await fsp.mkdtemp(path.join(os.tmpdir(), 'dataset-synthetic-'));
  try {
    await writeDatasetFolder(staging, folder, files);
    await fsp.mkdir(path.dirname(archivePath), { recursive: true });
    // Fixed order, mtime and portable headers keep the archive bytes reproducible.
    await tar.create(
      { gzip: true, file: archivePath, cwd: staging, portable: true, mtime: new Date(0), noDirRecurse: true },
      [folder, ...files.map((f) => `${folder}/${f.name}`)],
    );
    return createHash('md5').update(await fsp.readFile(archivePath)).digest('hex');
  } finally {
    await fsp.rm(staging, { recursive: true, force: true });
  }
};
