import { EngramError } from '@engram/tensor';

/**
 * The largest data file read (512 MiB): above it a text would not fit in one JavaScript string anyway, so the size is
 * checked before any byte is read.
 */
export const MAX_DATA_FILE_BYTES = 512 * 1024 * 1024;

/** A data file read from disk, with the path its errors name. */
export interface DataFile {
  /** `folder/name`. */
  path: string;
  /** Its contents, UTF-8. */
  text: string;
}

/**
 * Reads `folder/name` (Node only); a missing or unreadable file, one that is not a regular file, or one larger than
 * {@link MAX_DATA_FILE_BYTES}, is an error naming `op` and the path.
 * @param op - the operation named in errors
 * @param folder - the folder holding the file
 * @param name - the file's name in it
 */
export async function readDataFile(op: string, folder: string, name: string): Promise<DataFile> {
  const { open, stat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const path = join(folder, name);
  let file: Awaited<ReturnType<typeof open>> | undefined;
  try {
    // A folder, a device or a FIFO (which would block the open) is refused before opening; the size is that of the
    // file opened.
    if (!(await stat(path)).isFile()) throw new EngramError(`${op}: ${path} is not a regular file`);
    file = await open(path, 'r');
    const { size } = await file.stat();
    if (size > MAX_DATA_FILE_BYTES) throw new EngramError(`${op}: ${path} is ${size} bytes; at most ${MAX_DATA_FILE_BYTES} (512 MiB) are read`);
    return { path, text: await file.readFile('utf8') };
  } catch (error) {
    if (error instanceof EngramError) throw error;
    throw new EngramError(`${op}: cannot read ${path} (${(error as Error).message})`);
  } finally {
    await file?.close();
  }
}
