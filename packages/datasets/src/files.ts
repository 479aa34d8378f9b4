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
  const { constants, open } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const path = join(folder, name);
  let file: Awaited<ReturnType<typeof open>> | undefined;
  try {
    // Opened without blocking (a FIFO would otherwise wait for a writer), then checked through the descriptor: a
    // regular file of a bounded size, of which exactly that many bytes are read.
    file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stats = await file.stat();
    if (!stats.isFile()) throw new EngramError(`${op}: ${path} is not a regular file`);
    if (stats.size > MAX_DATA_FILE_BYTES) throw new EngramError(`${op}: ${path} is ${stats.size} bytes; at most ${MAX_DATA_FILE_BYTES} (512 MiB) are read`);
    const bytes = new Uint8Array(stats.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await file.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { path, text: new TextDecoder().decode(bytes.subarray(0, filled)) };
  } catch (error) {
    if (error instanceof EngramError) throw error;
    throw new EngramError(`${op}: cannot read ${path} (${(error as Error).message})`);
  } finally {
    await file?.close();
  }
}
