import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { DataDirectoryInUseError } from '../engine/errors';

/** A held directory lock; `release` removes the lock file. */
export interface DirectoryLock {
  release(): void;
}

/**
 * Takes `lockFile` with an exclusive create. A lock left by a process that no longer exists is
 * taken over; one held by a live process is refused with a message saying which.
 */
export function lockDirectory(lockFile: string, directory: string): DirectoryLock {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { release: () => rmSync(lockFile, { force: true }) };
    } catch (error) {
      if (!isErrnoCode(error, 'EEXIST')) throw error;
      const holder = Number(readFileSync(lockFile, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirectoryInUseError(
          `The data directory ${directory} is in use by process ${holder}. ` +
            'Wait for it to finish, or use another --data-dir.',
        );
      }
      if (holder === process.pid) {
        throw new DataDirectoryInUseError(`The data directory ${directory} is already open in this process.`);
      }
      rmSync(lockFile, { force: true });
    }
  }
  throw new DataDirectoryInUseError(`Could not lock the data directory ${directory}.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrnoCode(error, 'EPERM');
  }
}

function isErrnoCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
