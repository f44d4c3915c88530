/**
 * What `status` reads, published by the process holding the data directory, so that `status` from
 * another shell answers at once: while a command runs (its progress, and the grid as of the last
 * committed date), and after it (without opening PGlite, which takes seconds on a large ledger).
 *
 * Two files in the data directory, each written whole (a temporary file, then a rename), so a
 * reader never sees half of one:
 * - `activity.json` (small, rewritten at every step): the command holding the directory, when it
 *   started, its progress, and whether it closed cleanly;
 * - `status-snapshot.json`: the ledger rows, the due dates, the lease and the last runs, as read
 *   from the database after opening, after committed dates (at most about once a second) and at
 *   close. Raw rows, not a grid: `status` recomputes the grid with the pipeline code of the moment,
 *   so a code change since is shown as it would be from the database.
 *
 * The snapshot stands for the database only when the directory is free, it was written at a
 * clean close of the session `activity.json` names, in this format, and the database and lease
 * files are exactly as they were after that close (their sizes and times). Anything else, and
 * `status` opens the database as before. The data stays behind the directory lock: nothing here
 * writes to the database, and only the lock holder writes these files.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IsoDate } from '../lambdas/engine/dates';
import type { LeaseRecord } from '../lambdas/engine/lease';
import type { LedgerRow } from '../lambdas/engine/ledger';
import type { SqlExecutor } from '../lambdas/engine/sql';
import type { HistoryRow } from '../lambdas/ledger/ledger-store';
import { DYNAMODB_DIRECTORY, POSTGRES_DIRECTORY } from './data-directory';

export const SNAPSHOT_FILE = 'status-snapshot.json';
export const ACTIVITY_FILE = 'activity.json';

/** Bumped whenever what the files hold changes shape: an older file is not read. */
export const SNAPSHOT_FORMAT = 1;

/** Runs shown under "Last runs". */
export const LAST_RUNS = 5;

/** Least time between two snapshots during a run (the ledger of a long history is a large file). */
const REFRESH_MS = 1_000;

/** Everything `status` reads from the database. */
export interface StatusData {
  readonly ledger: readonly LedgerRow[];
  readonly due: { readonly from: IsoDate; readonly to: IsoDate } | null;
  readonly lease: LeaseRecord | null;
  readonly lastRuns: readonly HistoryRow[];
}

/** Progress of the command holding the data directory. */
export interface CommandProgress {
  /** Dates the command will run, when it knows. */
  readonly planned?: number;
  /** Dates done so far. */
  readonly done?: number;
  /** The date running now, and its stage. */
  readonly date?: string;
  readonly stage?: string;
  /** What it does when no date runs: `opening the data directory`, `synthesizing the workflow definitions`. */
  readonly phase?: string;
}

export interface Activity extends CommandProgress {
  readonly format: number;
  /** Random per opening: ties the snapshot to the session that wrote it. */
  readonly session: string;
  readonly pid: number;
  /** The command line, e.g. `hindsight backfill --auto --yes`. */
  readonly command: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** Set at a clean close; a session that never closed was killed (or still runs). */
  readonly closedAt?: string;
}

interface SnapshotFile {
  readonly format: number;
  readonly session: string;
  readonly writtenAt: string;
  /** Written after the database was closed cleanly: sizes and times of its files then. */
  readonly storage?: string;
  readonly data: StatusData;
}

/** What the data directory's status files say, when they are in this format. */
export interface PublishedStatus {
  readonly activity?: Activity;
  /** The last snapshot, and whether it stands for the database as it is now (see the module comment). */
  readonly snapshot?: { readonly data: StatusData; readonly writtenAt: string; readonly current: boolean };
}

/** Reads the data directory's status files (absent, unreadable or of another format: left out). */
export function readPublishedStatus(dataDir: string): PublishedStatus {
  const activity = readJson<Activity>(join(dataDir, ACTIVITY_FILE));
  const snapshot = readJson<SnapshotFile>(join(dataDir, SNAPSHOT_FILE));
  return {
    ...(activity ? { activity } : {}),
    ...(snapshot
      ? {
          snapshot: {
            data: snapshot.data,
            writtenAt: snapshot.writtenAt,
            current:
              activity !== undefined &&
              activity.closedAt !== undefined &&
              activity.session === snapshot.session &&
              snapshot.storage !== undefined &&
              snapshot.storage === storageFingerprint(dataDir),
          },
        }
      : {}),
  };
}

/** Where the status data comes from while the directory is open. */
export interface StatusSources {
  readonly sql: SqlExecutor;
  readLease(): Promise<LeaseRecord | null>;
  /**
   * Whether the lease store is open. Until it is, nothing in this process can have changed the
   * lease, so the last snapshot's lease is published again rather than starting the store to read it.
   * @default always open
   */
  leaseStoreOpen?(): boolean;
}

/**
 * The lock holder's side: writes `activity.json` and `status-snapshot.json` as the session goes.
 * Publishing never fails a command: a file that cannot be written is left as it was (and `status`
 * then opens the database, or says the directory is in use).
 */
export class StatusPublisher {
  private readonly session = randomBytes(8).toString('hex');
  private activity: Activity;
  private rows = new Map<string, LedgerRow>();
  private touched = new Set<IsoDate>();
  private lastWrite = 0;
  private data: StatusData | undefined;
  /** The lease as last read or published (undefined: not known). */
  private lastLease: { readonly lease: LeaseRecord | null } | undefined;
  private queue: Promise<void> = Promise.resolve();

  private dataDir: string | undefined;
  private sources: StatusSources | undefined;

  /** `command`: the command line, as `status` shows it. */
  constructor(command: string) {
    const now = new Date().toISOString();
    this.activity = {
      format: SNAPSHOT_FORMAT,
      session: this.session,
      pid: process.pid,
      command,
      startedAt: now,
      updatedAt: now,
      phase: 'opening the data directory',
    };
  }

  /** Announces the session, as soon as the directory is locked (before the database opens). */
  announce(dataDir: string): void {
    this.dataDir = dataDir;
    // The lease the last clean close left, while its store stays untouched (killed: not known).
    const { snapshot } = readPublishedStatus(dataDir);
    if (snapshot?.current) this.lastLease = { lease: snapshot.data.lease };
    this.writeActivity();
  }

  /** Once the database is open: publishes the whole ledger, then what changes. */
  async attach(sources: StatusSources): Promise<void> {
    this.sources = sources;
    const { readLedger } = await import('../lambdas/ledger/ledger-store');
    for (const row of await readLedger(sources.sql)) this.rows.set(`${row.date}|${row.stage}`, row);
    this.progress({ phase: undefined });
    await this.publish();
  }

  /** The progress of the command: merged into what was published. */
  progress(update: CommandProgress): void {
    this.activity = { ...this.activity, ...update, updatedAt: new Date().toISOString() };
    this.writeActivity();
  }

  /**
   * Progress that counts one more date done: the grid is published first (whatever the time since
   * the last), so `status` never shows more dates done than its grid has.
   */
  async advance(update: CommandProgress): Promise<void> {
    if (update.done !== undefined && update.done !== this.activity.done) await this.refresh(true);
    this.progress(update);
  }

  /** `date` was (or is being) written: the next refresh reads its rows again. */
  touch(date: IsoDate): void {
    this.touched.add(date);
  }

  /** Publishes again what changed, unless the last snapshot is younger than a second (`force` ignores that). */
  async refresh(force = false): Promise<void> {
    // One at a time: a refresh replaces rows and writes the file; two interleaved could publish half.
    const next = this.queue.then(() => this.refreshNow(force));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async refreshNow(force: boolean): Promise<void> {
    const { sources } = this;
    if (sources === undefined) return;
    if (!force && (this.touched.size === 0 || Date.now() - this.lastWrite < REFRESH_MS)) return;
    if (this.touched.size > 0) {
      const dates = [...this.touched].sort();
      this.touched.clear();
      const { readLedger } = await import('../lambdas/ledger/ledger-store');
      const from = dates[0];
      const to = dates[dates.length - 1];
      const rows = await readLedger(sources.sql, { from, to });
      for (const key of [...this.rows.keys()]) {
        const date = key.slice(0, 10);
        if (date >= from && date <= to) this.rows.delete(key);
      }
      for (const row of rows) this.rows.set(`${row.date}|${row.stage}`, row);
    }
    await this.publish();
  }

  /** Before the database closes: the last snapshot's data. */
  async beforeClose(): Promise<void> {
    await this.refresh(true).catch(() => undefined);
  }

  /** After the database closed cleanly: the snapshot stands for it until it changes. */
  afterClose(): void {
    if (this.data === undefined || this.dataDir === undefined) return;
    this.write(SNAPSHOT_FILE, {
      format: SNAPSHOT_FORMAT,
      session: this.session,
      writtenAt: new Date().toISOString(),
      storage: storageFingerprint(this.dataDir),
      data: this.data,
    } satisfies SnapshotFile);
    const now = new Date().toISOString();
    this.activity = { ...this.activity, updatedAt: now, closedAt: now };
    this.writeActivity();
  }

  private async publish(): Promise<void> {
    const { sources } = this;
    if (sources === undefined) return;
    const { readHistory } = await import('../lambdas/ledger/ledger-store');
    const { readDueRange } = await import('../lambdas/ledger/due-dates');
    this.data = {
      ledger: [...this.rows.values()],
      due: await readDueRange(sources.sql),
      lease: await this.readLease(sources),
      lastRuns: await readHistory(sources.sql, LAST_RUNS),
    };
    this.lastWrite = Date.now();
    this.write(SNAPSHOT_FILE, {
      format: SNAPSHOT_FORMAT,
      session: this.session,
      writtenAt: new Date().toISOString(),
      data: this.data,
    } satisfies SnapshotFile);
  }

  /** The lease: read from its store once open (or when no earlier snapshot tells it), else the last one published. */
  private async readLease(sources: StatusSources): Promise<LeaseRecord | null> {
    if (this.lastLease === undefined || (sources.leaseStoreOpen?.() ?? true)) {
      this.lastLease = { lease: await sources.readLease() };
    }
    return this.lastLease.lease;
  }

  private writeActivity(): void {
    this.write(ACTIVITY_FILE, this.activity);
  }

  private write(name: string, content: unknown): void {
    if (this.dataDir === undefined) return;
    const file = join(this.dataDir, name);
    const draft = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(draft, JSON.stringify(content));
      renameSync(draft, file);
    } catch {
      // best effort: see the class comment
    }
  }
}

/**
 * The sizes and modification times of the database's and the lease table's files: any write
 * through PGlite or dynalite changes at least one of them.
 */
export function storageFingerprint(dataDir: string): string {
  const entries: string[] = [];
  for (const directory of [POSTGRES_DIRECTORY, DYNAMODB_DIRECTORY])
    walk(join(dataDir, directory), directory, entries);
  return entries.sort().join('\n');
}

function walk(path: string, shown: string, entries: string[]): void {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    entries.push(`${shown} absent`);
    return;
  }
  for (const name of names) {
    const child = join(path, name);
    try {
      const stats = statSync(child);
      if (stats.isDirectory()) walk(child, `${shown}/${name}`, entries);
      else entries.push(`${shown}/${name} ${stats.size} ${stats.mtimeMs}`);
    } catch {
      entries.push(`${shown}/${name} gone`);
    }
  }
}

function readJson<T extends { format: number }>(file: string): T | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as T;
    return parsed.format === SNAPSHOT_FORMAT ? parsed : undefined;
  } catch {
    return undefined;
  }
}
