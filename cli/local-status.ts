/**
 * `status` on a local data directory without opening it, when that can be done truthfully: while
 * another process holds the directory, from what it publishes (its progress, and the grid as of
 * its last committed date); when the directory is free, from the snapshot written at the last
 * clean close, if the database has not changed since (see local/status-snapshot.ts). Otherwise
 * the caller opens the database.
 */
import { join, resolve } from 'node:path';
import { liveLockHolder } from '../lambdas/adapters/directory-lock';
import { LOCK_FILE } from '../local/data-directory';
import { type Activity, readPublishedStatus, type StatusData } from '../local/status-snapshot';

/** What `status` shows about the command holding the data directory. */
export interface RunningCommand {
  readonly command: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly planned?: number;
  readonly done?: number;
  readonly date?: string;
  readonly stage?: string;
  /** What it does when no date runs (`opening the database`). */
  readonly phase?: string;
  /** When the grid shown was published (the last committed date's snapshot); absent: no grid yet. */
  readonly gridAsOf?: string;
}

export type PublishedLocalStatus =
  /** Another process holds the directory and publishes its progress (and, once it has, the grid). */
  | { readonly kind: 'running'; readonly running: RunningCommand; readonly data?: StatusData }
  /** Another process holds the directory and publishes nothing (an older Hindsight, or it is just starting). */
  | { readonly kind: 'busy'; readonly pid: number }
  /** The directory is free and the snapshot stands for its database. */
  | { readonly kind: 'snapshot'; readonly data: StatusData }
  /** Nothing published fits: open the database (or say that the directory is in use). */
  | { readonly kind: 'open' };

export function publishedLocalStatus(dataDir: string): PublishedLocalStatus {
  const directory = resolve(dataDir);
  const holder = liveLockHolder(join(directory, LOCK_FILE));
  const { activity, snapshot } = readPublishedStatus(directory);
  if (holder !== undefined) {
    if (activity === undefined || activity.pid !== holder || activity.closedAt !== undefined)
      return { kind: 'busy', pid: holder };
    return {
      kind: 'running',
      running: runningCommand(activity, snapshot?.writtenAt),
      ...(snapshot ? { data: snapshot.data } : {}),
    };
  }
  return snapshot?.current ? { kind: 'snapshot', data: snapshot.data } : { kind: 'open' };
}

function runningCommand(activity: Activity, gridAsOf: string | undefined): RunningCommand {
  const { command, pid, startedAt, planned, done, date, stage, phase } = activity;
  return {
    command,
    pid,
    startedAt,
    ...(planned === undefined ? {} : { planned }),
    ...(done === undefined ? {} : { done }),
    ...(date === undefined ? {} : { date }),
    ...(stage === undefined ? {} : { stage }),
    ...(phase === undefined ? {} : { phase }),
    ...(gridAsOf === undefined ? {} : { gridAsOf }),
  };
}
