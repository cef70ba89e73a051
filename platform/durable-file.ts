/**
 * Files replaced whole, so that a power cut leaves the old content or the new, never a torn mix: written
 * beside the target, flushed, renamed over it (rename is atomic within a file system), and the folder flushed
 * so the rename itself survives.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Flushes a file, or a folder's entries (after a rename into it), to disk. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileDurably(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode });
  fsyncPath(tmp);
  renameSync(tmp, path);
  fsyncPath(dirname(path));
}

export function removeDurably(path: string): void {
  rmSync(path, { force: true });
  fsyncPath(dirname(path));
}
