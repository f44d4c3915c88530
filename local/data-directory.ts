/**
 * The data directory's name and the files in it that more than one module knows, apart from the
 * services that open it: the CLI's help and `status`'s fast path read them without loading PGlite.
 */

export const DEFAULT_DATA_DIR = '.pipeline';

/** The directory lock: one process opens a data directory at a time. */
export const LOCK_FILE = 'in-use.lock';

/** PGlite's files. */
export const POSTGRES_DIRECTORY = 'postgres';

/** dynalite's files (the local lease table). */
export const DYNAMODB_DIRECTORY = 'dynamodb';
