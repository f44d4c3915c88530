/**
 * `--database-url` (and DATABASE_URL) that cannot be used: the message names the option, shows
 * the value with its password masked and says what to check; a value that is no PostgreSQL URL
 * is bad usage (exit 2), a server that cannot be reached a failed run (exit 1). Nothing is
 * created either way, not even the data directory.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliResult, hindsight } from '../support/cli';
import { runCliInProcess } from '../support/cli-in-process';
import { fixtureProject } from '../support/fixture-project';

const NOW = new Date('2026-03-02T08:00:00Z');
const RUN = ['--param', 'rowsPerDay=10', 'run', '--date', '2026-03-01'];

let root: string;
let project: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hindsight-database-url-'));
  project = fixtureProject();
});

afterAll(() => {
  for (const directory of [root, project]) rmSync(directory, { recursive: true, force: true });
});

/** A TCP port on 127.0.0.1 nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function shown({ code, stdout, stderr }: Pick<CliResult, 'code' | 'stdout' | 'stderr'>) {
  return { code, stdout, stderr: stderr.trim() };
}

describe('hindsight --database-url that cannot be used', () => {
  it('refuses a value that is no PostgreSQL URL with exit 2, naming the option, and one whose server does not answer with exit 1, saying what to check', async () => {
    const malformedDir = join(root, 'malformed');
    const unreachableDir = join(root, 'unreachable');
    const port = await closedPort();
    const unreachable = `postgres://hindsight:s3cret-pass@127.0.0.1:${port}/ledger`;

    // Act: both at once, as a user runs them
    const [malformed, refused] = await Promise.all([
      hindsight(['--data-dir', malformedDir, '--database-url', 'notaurl', ...RUN], { cwd: project }),
      hindsight(['--data-dir', unreachableDir, '--database-url', unreachable, ...RUN], { cwd: project }),
    ]);

    // Assess
    expect(shown(malformed)).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'Invalid --database-url: got "notaurl"; expected a PostgreSQL URL such as ' +
        'postgres://user:password@localhost:5432/database.\nNothing was changed.',
    });
    expect(shown(refused)).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `Could not connect to the PostgreSQL server of --database-url postgres://hindsight:****@127.0.0.1:${port}/ledger: ` +
        `connect ECONNREFUSED 127.0.0.1:${port}. Check that a PostgreSQL server runs at 127.0.0.1:${port} and ` +
        'accepts connections from this machine. Nothing was changed.',
    });
    expect(refused.stderr).not.toContain('s3cret-pass');
    expect(existsSync(malformedDir)).toBe(false);
    expect(existsSync(unreachableDir)).toBe(false);
  });

  it('names DATABASE_URL when the value came from there, with its password masked', async () => {
    const dataDir = join(root, 'from-environment');
    const previous = process.env.DATABASE_URL;
    process.env.DATABASE_URL = 'mysql://app:hunter2@db.internal/ledger';
    try {
      const result = await runCliInProcess(['--data-dir', dataDir, ...RUN], { now: NOW, cwd: project });

      expect(result).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'Invalid DATABASE_URL: got "mysql://app:****@db.internal/ledger"; expected a PostgreSQL URL such as ' +
          'postgres://user:password@localhost:5432/database.\nNothing was changed.',
      });
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      if (previous === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = previous;
    }
  });

  it('masks the password where --database-url is refused with --aws', async () => {
    const result = await runCliInProcess(
      ['--aws', '--database-url', 'postgres://app:hunter2@db.internal/ledger', 'status'],
      { now: NOW, cwd: project },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'Invalid --database-url: got "postgres://app:****@db.internal/ledger"; expected no --database-url with --aws',
    );
    expect(result.stderr).not.toContain('hunter2');
  });

  (process.env.TEST_DATABASE_URL ? it : it.skip)(
    'says which database to check when the server has no database of that name',
    async () => {
      const url = new URL(process.env.TEST_DATABASE_URL ?? '');
      url.pathname = '/no_such_ledger';
      const dataDir = join(root, 'no-database');

      const result = await runCliInProcess(
        ['--data-dir', dataDir, '--database-url', url.toString(), ...RUN],
        {
          now: NOW,
          cwd: project,
        },
      );

      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `Could not connect to the PostgreSQL server of --database-url ${url}: database "no_such_ledger" does not exist. ` +
          `Check the database name no_such_ledger: the server at ${url.host} has no such database (create it first). ` +
          'Nothing was changed.',
      );
      expect(existsSync(dataDir)).toBe(false);
    },
  );
});
