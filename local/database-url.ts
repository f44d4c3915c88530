/**
 * `--database-url` (or DATABASE_URL): a real PostgreSQL server for the local runtime. Checked
 * before anything is opened, echoed with its password masked, and connected to once up front so
 * that a wrong URL is told as such (what to check) rather than as a driver's `ECONNREFUSED`.
 *
 * The connection made up front stays open: it holds this process's mark on the server, a session
 * advisory lock. The local lease lives in that database next to the fence (see
 * lambdas/adapters/sql-lease-store.ts), and a lease found held by an execution of another process
 * (another data directory, another laptop) counts as running for as long as that process's mark
 * is held: when the process ends, PostgreSQL drops its session, and the lock with it.
 */
import { randomInt } from 'node:crypto';
import type { Client } from 'pg';
import { HindsightError, InvalidInputError } from '../lambdas/engine/errors';
import type { SqlExecutor } from '../lambdas/engine/sql';

/** How the URL is named in messages when the caller does not say. */
export const DATABASE_URL_OPTION = '--database-url';

/** Advisory lock class (first key) of the marks; the second key is the mark's own number. */
const MARK_CLASS = 7_143_522;

/** How long the first connection may take before the server counts as unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

const EXAMPLE = 'postgres://user:password@localhost:5432/database';

/** The server at a database URL cannot be used: unreachable, or it refused the user or the database. */
export class DatabaseConnectionError extends HindsightError {}

/** `value` with any password in it replaced by `****`, for messages. */
export function maskDatabaseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password === '' && !url.searchParams.has('password')) return value;
    if (url.password !== '') url.password = '****';
    if (url.searchParams.has('password')) url.searchParams.set('password', '****');
    return url.toString();
  } catch {
    return value
      .replace(/^([^:/?#\s]+:\/\/[^:@/?#\s]*:)[^@]*@/, '$1****@')
      .replace(/(password\s*=\s*)[^&\s]*/gi, '$1****');
  }
}

/**
 * Refuses a value that is no PostgreSQL URL (`postgres://` or `postgresql://`, with a host), naming
 * `name` (the option or variable it came from) and echoing it with the password masked.
 */
export function checkDatabaseUrl(value: string, name: string = DATABASE_URL_OPTION): URL {
  const url = parseUrl(value);
  if (
    url === undefined ||
    (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') ||
    (url.hostname === '' && !url.searchParams.has('host'))
  ) {
    throw InvalidInputError.of(name, maskDatabaseUrl(value), `a PostgreSQL URL such as ${EXAMPLE}`);
  }
  return url;
}

/** This process's mark on the server: a connection of its own holding a session advisory lock. */
export class ProcessMark {
  private constructor(
    private readonly client: Client,
    private readonly key: number,
  ) {}

  /** What the lease records as its writer: the mark's number. */
  get owner(): string {
    return String(this.key);
  }

  /**
   * Connects to `url` (checked with `checkDatabaseUrl` first) and takes a mark no other process
   * holds. Throws `DatabaseConnectionError` saying what to check when the server cannot be used.
   */
  static async take(value: string, name: string = DATABASE_URL_OPTION): Promise<ProcessMark> {
    const url = checkDatabaseUrl(value, name);
    // Loaded here: the CLI checks and masks URLs (help, refusals) without the driver.
    const { Client } = await import('pg');
    const client = new Client({ connectionString: value, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // A connection dropped later is no reason to crash: the mark is gone, and the fence still
    // refuses anything this process would commit after another took the lease over.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw connectionError(error, url, value, name);
    }
    try {
      for (;;) {
        const key = randomInt(1, 2 ** 31 - 1);
        const { rows } = await client.query<{ taken: boolean }>(
          'SELECT pg_try_advisory_lock($1::int, $2::int) AS taken',
          [MARK_CLASS, key],
        );
        if (rows[0]?.taken) return new ProcessMark(client, key);
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Whether the process whose mark is `owner` still runs (holds its mark). Asked through `sql`,
   * on another connection: a lock this connection could take is a lock nobody holds.
   */
  static async held(sql: SqlExecutor, owner: string): Promise<boolean> {
    const key = Number(owner);
    if (!Number.isSafeInteger(key)) return false;
    const { rows } = await sql.query<{ free: boolean }>(
      'SELECT pg_try_advisory_xact_lock($1::int, $2::int) AS free',
      [MARK_CLASS, key],
    );
    return rows[0]?.free === false;
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** The driver's connection failure, told as what is wrong with the URL and what to check. */
function connectionError(error: unknown, url: URL, value: string, name: string): DatabaseConnectionError {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const host = url.hostname || url.searchParams.get('host') || 'localhost';
  const at = `${host}:${url.port || '5432'}`;
  const user = decodeURIComponent(url.username) || 'the default user';
  const database = decodeURIComponent(url.pathname.slice(1)) || user;
  let check: string;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    check = `Check the host name ${host}: it was not found.`;
  } else if (code === '28P01' || code === '28000') {
    check = `Check the user ${user} and its password (and that the server lets it connect from here).`;
  } else if (code === '3D000') {
    check = `Check the database name ${database}: the server at ${at} has no such database (create it first).`;
  } else if (
    ['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].includes(code) ||
    /timeout/i.test(describe(error))
  ) {
    check = `Check that a PostgreSQL server runs at ${at} and accepts connections from this machine.`;
  } else {
    check = `Check the URL's host and port (${at}), user, password and database name.`;
  }
  return new DatabaseConnectionError(
    `Could not connect to the PostgreSQL server of ${name} ${maskDatabaseUrl(value)}: ${describe(error)}. ` +
      `${check} Nothing was changed.`,
    { cause: error },
  );
}

/** A driver error's message; Node reports a refused connection to every address of a name as an AggregateError with none. */
function describe(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  if ('errors' in error && Array.isArray(error.errors) && !('message' in error && error.message)) {
    return error.errors.map((each) => describe(each)).join('; ');
  }
  return 'message' in error && String(error.message) !== '' ? String(error.message) : String(error);
}
