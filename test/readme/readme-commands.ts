/**
 * The README's shell commands: finding them in README.md, and running one as a user types it.
 * `npx hindsight ARGS`, `npm run -s hindsight -- ARGS` and `npm start` all run bin/hindsight.js (what
 * npm would run) as a child process with the same arguments, in the project's folder, on a clock
 * pinned by HINDSIGHT_TODAY; its stdout and stderr go to one file, so the transcript has them in the
 * order a terminal shows them.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { REPOSITORY } from './readme-projects';

/** What a README command printed (stdout and stderr interleaved) and its exit code. */
export interface CommandOutput {
  readonly code: number | null;
  readonly output: string;
}

/** A README command, its comment dropped and its spaces collapsed: the form commands are compared in. */
export function normalizeCommand(line: string): string {
  return line
    .replace(/\s+#.*$/, '')
    .replace(/^\$\s+/, '')
    .trim()
    .replace(/\s+/g, ' ');
}

/**
 * Every command the README gives to type: each line of a ```sh block, and each `$ ` line of a
 * ```text block (a transcript), normalized; `a && b` gives two.
 */
export function readmeCommands(readme: string): string[] {
  const commands: string[] = [];
  let fence: string | undefined;
  for (const line of readme.split('\n')) {
    const opening = /^```(\w*)\s*$/.exec(line);
    if (opening && fence === undefined) {
      fence = opening[1] ?? '';
      continue;
    }
    if (line.startsWith('```') && fence !== undefined) {
      fence = undefined;
      continue;
    }
    const typed =
      (fence === 'sh' && line.trim() !== '' && !line.trim().startsWith('#')) ||
      (fence === 'text' && line.startsWith('$ '));
    // `a && b` is two commands, each run (or excused) on its own.
    if (typed) commands.push(...normalizeCommand(line).split(' && '));
  }
  return commands;
}

/** The hindsight arguments of a README command, or undefined when it is not a hindsight command. */
export function hindsightArguments(command: string): string[] | undefined {
  const words = normalizeCommand(command).split(' ');
  const prefixes = [
    ['npx', 'hindsight'],
    ['npm', 'run', '-s', 'hindsight', '--'],
    ['npm', 'start'],
  ];
  for (const prefix of prefixes) {
    if (prefix.every((word, i) => words[i] === word)) {
      const rest = words.slice(prefix.length);
      return prefix[1] === 'start' ? ['start', ...rest] : rest;
    }
  }
  return undefined;
}

/** Runs a hindsight command of the README as a process, in `cwd`, with today pinned. */
export async function runReadmeCommand(
  command: string,
  options: { readonly cwd: string; readonly today: string; readonly timeoutMs?: number },
): Promise<CommandOutput> {
  const args = hindsightArguments(command);
  if (args === undefined) throw new Error(`Not a hindsight command: ${command}`);
  const folder = mkdtempSync(join(tmpdir(), 'hindsight-readme-output-'));
  const file = join(folder, 'output.txt');
  const descriptor = openSync(file, 'w');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [join(REPOSITORY, 'bin', 'hindsight.js'), ...args], {
        cwd: options.cwd,
        env: commandEnvironment(options.today),
        stdio: ['ignore', descriptor, descriptor],
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    return { code, output: readFileSync(file, 'utf8') };
  } finally {
    closeSync(descriptor);
    rmSync(folder, { recursive: true, force: true });
  }
}

/** The environment of a README command: this one, with the clock pinned and no colour forced. */
function commandEnvironment(today: string): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {
    ...process.env,
    HINDSIGHT_TODAY: today,
    NODE_OPTIONS: '',
    // npx and npm scripts put the project's Node first on the PATH.
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  };
  // Piped output is plain; jest's workers set FORCE_COLOR, which would colour it.
  delete environment.FORCE_COLOR;
  delete environment.DATABASE_URL;
  return environment;
}
