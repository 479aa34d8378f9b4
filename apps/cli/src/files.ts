import { constants, existsSync, readdirSync, unlinkSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ATOMIC_TEMPORARY_SUFFIX, EngramError, writeFileAtomic } from '@engram/tensor';

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

/**
 * Rewrites a run folder's CSV with its header and only the rows `keep` accepts (split on commas): on `--resume`, the
 * rows logged after the checkpoint go, since the resumed run recomputes them exactly. A missing file gets the header.
 */
export async function keepCsvRows(path: string, header: string, keep: (fields: string[]) => boolean): Promise<void> {
  const rows = existsSync(path)
    ? (await readFile(path, 'utf8'))
        .split('\n')
        .slice(1)
        .filter((l) => l !== '' && keep(l.split(',')))
    : [];
  await writeText(path, `${header}${rows.map((r) => `${r}\n`).join('')}`);
}

/** The largest run-folder JSON file read (run.json, results.json: a few kilobytes when written by engram). */
export const MAX_JSON_FILE_BYTES = 4 * 1024 * 1024;

/** A run folder's JSON file, parsed; a missing, oversized or malformed one is one line naming it. */
export async function readJsonFile(path: string): Promise<unknown> {
  try {
    const bytes = (await stat(path)).size;
    if (bytes > MAX_JSON_FILE_BYTES) throw new Error(`${bytes} bytes, more than the ${MAX_JSON_FILE_BYTES} allowed`);
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new EngramError(`${path}: cannot read it as JSON (${(error as Error).message.split('\n')[0]})`);
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
