import { EngramError } from '@engram/tensor';

/** A data file read from disk, with the path its errors name. */
export interface DataFile {
  /** `folder/name`. */
  path: string;
  /** Its contents, UTF-8. */
  text: string;
}

/** Reads `folder/name` (Node only); a missing or unreadable file is an error naming `op` and the path. */
export async function readDataFile(op: string, folder: string, name: string): Promise<DataFile> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const path = join(folder, name);
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch (error) {
    throw new EngramError(`${op}: cannot read ${path} (${(error as Error).message})`);
  }
}
