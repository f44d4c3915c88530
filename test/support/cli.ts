/**
 * Runs `hindsight` as a user does: a child process (`bin/hindsight.js …`, the compiled CLI that the
 * global setup builds) from the repository,
 * on Node 24 from the `node` dev dependency, with no terminal attached (output piped, no stdin).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';

export const REPOSITORY = join(__dirname, '..', '..');
const BIN = join(REPOSITORY, 'node_modules', '.bin');

/** How one `hindsight` process ended. `code` is null when it was killed by a signal. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time of the process, in ms. */
  readonly ms: number;
  /** When it exited (Date.now()). */
  readonly endedAt: number;
}

/** A `hindsight` process still running. */
export interface RunningCli {
  readonly pid: number | undefined;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Resolves once stdout matches `pattern` (rejects if the process ends first). */
  waitForStdout(pattern: RegExp): Promise<void>;
  readonly result: Promise<CliResult>;
}

export interface CliOptions {
  /** Kill the process (SIGKILL) after this many ms. @default 180000 */
  readonly timeoutMs?: number;
  /** Where it runs, i.e. which project (see test/support/fixture-project.ts). @default the repository */
  readonly cwd?: string;
}

/** The environment of a user's shell, minus what would change the CLI's behaviour under test. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['NODE_OPTIONS', 'DATABASE_URL', 'FORCE_COLOR', 'JEST_WORKER_ID']) delete env[key];
  // node_modules/.bin first: `node` there is Node 24, whatever the system's is.
  env.PATH = [BIN, env.PATH ?? ''].join(delimiter);
  env.NO_COLOR = '1';
  return env;
}

/** Starts `hindsight <args>`; see `hindsight` for the common case of waiting for it. */
export function startHindsight(args: readonly string[], options: CliOptions = {}): RunningCli {
  const began = Date.now();
  const child: ChildProcess = spawn(join(BIN, 'node'), [join(REPOSITORY, 'bin', 'hindsight.js'), ...args], {
    cwd: options.cwd ?? REPOSITORY,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let ended = false;
  const waiters: Array<{ pattern: RegExp; resolve: () => void; reject: (error: Error) => void }> = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(stdout)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      } else if (ended) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.reject(
          new Error(
            `hindsight ${args.join(' ')} ended before printing ${waiter.pattern}:\n${stdout}${stderr}`,
          ),
        );
      }
    }
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    check();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      ended = true;
      check();
      resolve({ code, stdout, stderr, ms: Date.now() - began, endedAt: Date.now() });
    });
  });
  return {
    pid: child.pid,
    stdout: () => stdout,
    waitForStdout: (pattern) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ pattern, resolve, reject });
        check();
      }),
    result,
  };
}

/** Runs `hindsight <args>` to the end. */
export function hindsight(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startHindsight(args, options).result;
}

/** One line per file and directory under `root`: path, size, mtime and a hash of the content. */
export function snapshotTree(root: string): string[] {
  if (!existsSync(root)) return [];
  const lines: string[] = [];
  const walk = (directory: string) => {
    for (const entry of readdirSync(directory).sort()) {
      const path = join(directory, entry);
      const stat = lstatSync(path);
      const name = relative(root, path);
      if (stat.isDirectory()) {
        lines.push(`${name}/ ${stat.mtimeMs}`);
        walk(path);
      } else {
        const hash = stat.isFile()
          ? createHash('sha256').update(readFileSync(path)).digest('hex')
          : 'special';
        lines.push(`${name} ${stat.size} ${stat.mtimeMs} ${hash}`);
      }
    }
  };
  walk(root);
  return lines;
}
