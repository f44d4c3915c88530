import { spawn } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';

const REPOSITORY = join(__dirname, '..', '..');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/**
 * Runs `hindsight <args>` as a child process, the way a user does (bin/hindsight.js, the compiled
 * CLI that the global setup builds), on the Node that runs the tests, also first on the PATH.
 */
export function runCliProcess(
  args: readonly string[],
  timeoutMs = 60_000,
  cwd: string = REPOSITORY,
): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const bin = join(REPOSITORY, 'bin', 'hindsight.js');
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
    });
  });
}
