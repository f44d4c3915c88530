import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { DataDirectoryInUseError } from '../engine/errors';

/** A held directory lock; `release` removes the lock file (if it is still this lock's). */
export interface DirectoryLock {
  release(): void;
}

/** Locks taken by this process, by their lock file's content: what "already open in this process" means. */
const HELD = new Set<string>();

/**
 * Looks at the lock file before giving up: each one either took the lock, refused, or saw another
 * process taking it over or releasing it; the next look is a few ms later (up to about a second).
 */
const ATTEMPTS = 200;

/**
 * An incomplete lock file (no writer of this version leaves one: see below) younger than this is
 * another process's, being written; an older one is a leftover and is taken over.
 */
const INCOMPLETE_GRACE_MS = 10_000;

/**
 * Takes `lockFile` for this process. The lock file is never seen half-written: its content (pid
 * and a random nonce) is written to a file of this process's own, which is then hard-linked to
 * `lockFile` — an atomic, exclusive create of a complete file.
 *
 * A lock whose process has ended is taken over; one held by a live process is refused with a
 * message saying which. Taking over is safe against other processes doing the same at once: only
 * the process that exclusively creates the takeover marker of that very lock (named by a hash of
 * its content) may remove it, and does so only after checking, under the marker, that the lock
 * file still has that content. Nobody else removes a lock with that content, so the check holds
 * until the removal; every process then races for the free lock with the exclusive link.
 */
export function lockDirectory(lockFile: string, directory: string): DirectoryLock {
  const nonce = randomBytes(8).toString('hex');
  const content = `${process.pid}\n${nonce}\n`;
  const draft = `${lockFile}.${process.pid}-${nonce}`;
  writeFileSync(draft, content, { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) pause(1 + (attempt % 8));
      try {
        linkSync(draft, lockFile);
        HELD.add(content);
        return { release: () => release(lockFile, content) };
      } catch (error) {
        if (!isErrnoCode(error, 'EEXIST')) throw error;
      }
      const seen = readIfExists(lockFile);
      if (seen === undefined) continue; // released or taken over meanwhile: race for it again
      const holder = parseLock(seen);
      if (holder === undefined) {
        if (!isLeftOver(lockFile)) {
          throw new DataDirectoryInUseError(
            `The data directory ${directory} is being locked by another process right now. Try again in a moment.`,
          );
        }
      } else if (HELD.has(seen)) {
        throw new DataDirectoryInUseError(`The data directory ${directory} is already open in this process.`);
      } else if (holder !== process.pid && isAlive(holder)) {
        throw new DataDirectoryInUseError(
          `The data directory ${directory} is in use by process ${holder}. ` +
            'Wait for it to finish, or use another --data-dir.',
        );
      }
      // Stale: its process has ended (or it is this pid's from an earlier process, as after a
      // container restart), or it was left incomplete long ago.
      takeOver(lockFile, seen, directory);
    }
    throw new DataDirectoryInUseError(
      `Could not lock the data directory ${directory}: its lock file ${lockFile} kept changing. Try again.`,
    );
  } finally {
    unlinkIfExists(draft);
  }
}

/**
 * The process holding `lockFile` when it is another process that still runs; undefined when the
 * directory is free (no lock, a lock whose process has ended, or one of this process).
 */
export function liveLockHolder(lockFile: string): number | undefined {
  const holder = parseLock(readIfExists(lockFile) ?? '');
  return holder !== undefined && holder !== process.pid && isAlive(holder) ? holder : undefined;
}

/** Removes the stale lock whose content is `stale`, unless another process is already doing so. */
function takeOver(lockFile: string, stale: string, directory: string): void {
  const marker = `${lockFile}.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`;
  let fd: number;
  try {
    fd = openSync(marker, 'wx');
  } catch (error) {
    if (!isErrnoCode(error, 'EEXIST')) throw error;
    const taker = parseLock(readIfExists(marker) ?? '');
    // This process takes over synchronously, so a marker with its pid is an earlier process's.
    if (taker !== undefined && (taker === process.pid || !isAlive(taker))) {
      // The process taking this lock over ended in the middle: a person must look.
      throw new DataDirectoryInUseError(
        `Could not lock the data directory ${directory}: process ${taker} ended while taking over its ` +
          `stale lock. If no hindsight process uses ${directory}, delete ${lockFile} and ${marker}.`,
      );
    }
    return; // another process is taking it over: look again
  }
  try {
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    if (readIfExists(lockFile) === stale) unlinkIfExists(lockFile);
  } finally {
    unlinkIfExists(marker);
  }
}

function release(lockFile: string, content: string): void {
  HELD.delete(content);
  // A lock judged stale and taken over since is another process's now: leave it.
  if (readIfExists(lockFile) === content) unlinkIfExists(lockFile);
}

/** The pid of a complete lock file: `pid\nnonce\n`, or a bare pid as earlier versions wrote. */
function parseLock(content: string): number | undefined {
  const match = /^(\d+)\n?(?:[0-9a-f]+\n)?$/.exec(content);
  const pid = match ? Number(match[1]) : Number.NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isLeftOver(lockFile: string): boolean {
  try {
    return Date.now() - statSync(lockFile).mtimeMs > INCOMPLETE_GRACE_MS;
  } catch {
    return false;
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (!isErrnoCode(error, 'ENOENT')) throw error;
  }
}

/** Blocks this thread for `ms` (the lock is taken synchronously, before anything else runs). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrnoCode(error, 'EPERM');
  }
}

/** Not `instanceof Error`: errors of `fs` may come from another realm (a vm context, as under jest). */
function isErrnoCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code;
}
