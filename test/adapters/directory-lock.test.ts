/**
 * The data-directory lock (lambdas/adapters/directory-lock.ts): one process at a time on a data
 * directory. A stress test races 16 Node processes for one lock over 5 rounds (the first on a free
 * directory, the others on a lock a killed process left) and counts the holders of each round;
 * smaller cases pin the states a racing process can see: a lock file being written, a stale lock,
 * a lock taken over since.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { lockDirectory } from '../../lambdas/adapters/directory-lock';
import { DataDirectoryInUseError } from '../../lambdas/engine/errors';

const PROCESSES = 16;
const ROUNDS = 5;

let root: string;
/** The contender, bundled to plain JavaScript so each of the 16 starts in tens of milliseconds. */
let worker: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hindsight-lock-'));
  worker = join(root, 'worker.js');
  buildSync({
    entryPoints: [join(__dirname, '..', 'support', 'directory-lock-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: worker,
    logLevel: 'error',
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Tried {
  readonly type: 'tried';
  readonly round: number;
  readonly pid: number;
  readonly acquired: boolean;
  readonly error?: string;
}

/** A contender process and the messages it sent, in order. */
class Contender {
  private readonly inbox: Array<Record<string, unknown>> = [];
  private readonly waiting: Array<(message: Record<string, unknown>) => void> = [];

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: Record<string, unknown>) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter(message);
      else this.inbox.push(message);
    });
  }

  next(): Promise<Record<string, unknown>> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** A lock held by a process that was then killed: started, took the lock, exited without releasing. */
function leaveStaleLock(lockFile: string): void {
  const crashed = spawnSync(process.execPath, [worker, 'crash', lockFile], { encoding: 'utf8' });
  if (crashed.status !== 0) throw new Error(`the crasher failed: ${crashed.stderr}`);
  if (!existsSync(lockFile)) throw new Error('the crasher left no lock');
}

describe('lockDirectory under 16 processes at once', () => {
  it('has exactly one holder per round, on a free directory and on a lock a killed process left', async () => {
    const env = { ...process.env, NODE_OPTIONS: '' };
    const contenders = Array.from(
      { length: PROCESSES },
      () => new Contender(fork(worker, [], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })),
    );
    try {
      for (const contender of contenders) expect(await contender.next()).toEqual({ type: 'ready' });
      const holdersPerRound: number[] = [];
      const unexpected: string[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const lockFile = join(root, `round-${round}.lock`);
        if (round > 1) leaveStaleLock(lockFile);
        for (const { child } of contenders) child.send({ type: 'try', round, lockFile });
        const tried = (await Promise.all(
          contenders.map((contender) => contender.next()),
        )) as unknown as Tried[];
        const holders = tried.filter((answer) => answer.acquired);
        holdersPerRound.push(holders.length);
        // Every other contender is refused, naming the process that holds the directory.
        const refusal =
          'DataDirectoryInUseError: The data directory stress is in use by process ' +
          `${holders[0]?.pid}. Wait for it to finish, or use another --data-dir.`;
        for (const answer of tried) {
          if (!answer.acquired && answer.error !== refusal)
            unexpected.push(`round ${round}: ${answer.error}`);
        }
        // Everyone lets go before the next round (a holder keeps its lock until then).
        for (const { child } of contenders) child.send({ type: 'release' });
        for (const contender of contenders) expect(await contender.next()).toEqual({ type: 'released' });
        expect(existsSync(lockFile)).toBe(false);
      }
      console.log(
        `directory lock: ${PROCESSES} processes × ${ROUNDS} rounds, holders per round ${holdersPerRound.join(', ')}`,
      );
      expect(holdersPerRound).toEqual(Array(ROUNDS).fill(1));
      expect(unexpected).toEqual([]);
      // Nothing of the takeovers is left behind but the lock files' directory itself.
      expect(readdirSync(root).filter((name) => name !== 'worker.js')).toEqual([]);
    } finally {
      for (const { child } of contenders) if (child.connected) child.send({ type: 'exit' });
    }
  });
});

describe('lockDirectory against what a racing process can see', () => {
  let directory: string;
  let lockFile: string;

  beforeEach(() => {
    directory = mkdtempSync(join(root, 'case-'));
    lockFile = join(directory, 'in-use.lock');
  });

  it('refuses a lock file another process has just created and not yet completed', () => {
    writeFileSync(lockFile, '');

    expect(() => lockDirectory(lockFile, directory)).toThrow(DataDirectoryInUseError);
    expect(() => lockDirectory(lockFile, directory)).toThrow(
      `The data directory ${directory} is being locked by another process right now. Try again in a moment.`,
    );
    expect(existsSync(lockFile)).toBe(true);
  });

  it('takes over a lock whose process has ended, and releases it', () => {
    leaveStaleLock(lockFile);

    const lock = lockDirectory(lockFile, directory);
    expect(() => lockDirectory(lockFile, directory)).toThrow(
      `The data directory ${directory} is already open in this process.`,
    );
    lock.release();
    expect(existsSync(lockFile)).toBe(false);
  });

  it('takes over a lock an earlier process with the same pid left (a container restarted)', () => {
    writeFileSync(lockFile, `${process.pid}\n`);

    const lock = lockDirectory(lockFile, directory);
    lock.release();
    expect(existsSync(lockFile)).toBe(false);
  });

  it('leaves alone, on release, a lock another process has taken since', () => {
    const lock = lockDirectory(lockFile, directory);
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    // As if this process's lock had been taken over (it was judged stale) by another process.
    writeFileSync(lockFile, `${deadPid}\n`);

    lock.release();
    expect(existsSync(lockFile)).toBe(true);
  });
});
