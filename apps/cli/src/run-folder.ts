import { lstatSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EngramError } from '@engram/tensor';
import { removeLeftoverTemporaries } from './files.js';

/**
 * Makes sure `out` is a real folder a run can be written to, creating it (and, when `createParents`,
 * its missing parents) one level at a time — never through a symbolic link, never over a file. A path
 * that cannot hold a folder (under a file, or in /proc) is a one-line error naming it, not a hang.
 *
 * @param createParents create missing parents too (the default run folders, runs/<name>); a path the
 *   user gave must have an existing parent
 */
export function prepareRunFolder(out: string, option: string, createParents = false): void {
  const path = resolve(out);
  const kind = (p: string): 'missing' | 'folder' | 'link' | 'other' => {
    try {
      const stat = lstatSync(p);
      return stat.isSymbolicLink() ? 'link' : stat.isDirectory() ? 'folder' : 'other';
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return 'missing';
      throw error;
    }
  };
  const missing: string[] = [];
  let at = path;
  for (;;) {
    const k = kind(at);
    if (k === 'folder') break;
    if (k === 'link') throw new EngramError(`${option}: ${at} is a symbolic link; give the real folder`);
    if (k === 'other') throw new EngramError(`${option}: ${at} exists and is not a folder`);
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  if (missing.length > 1 && !createParents) throw new EngramError(`${option}: the parent folder ${dirname(path)} does not exist`);
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (error) {
      throw new EngramError(`${option}: cannot create ${folder} (${(error as { code?: string }).code ?? (error as Error).message})`);
    }
  }
  removeLeftoverTemporaries(path);
}
