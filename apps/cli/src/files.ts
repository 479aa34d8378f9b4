import { constants, readdirSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { ATOMIC_TEMPORARY_SUFFIX, writeFileAtomic } from '@engram/tensor';

/** Writes a text file of a run folder atomically; a symbolic link at `path` is replaced, never written through. */
export async function writeText(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}

/** Appends to a text file of a run folder (a learning curve, a line per step); refuses to follow a symbolic link. */
export async function appendText(path: string, text: string): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/** Removes the temporary files a killed save left in a run folder (`<file>.<random hex>.tmp`). */
export function removeLeftoverTemporaries(folder: string): number {
  let removed = 0;
  for (const name of readdirSync(folder)) {
    if (!ATOMIC_TEMPORARY_SUFFIX.test(name)) continue;
    unlinkSync(join(folder, name));
    removed++;
  }
  return removed;
}
