/**
 * One walk through a README scenario: its commands run in order in one project (one data
 * directory), each on the day the scenario says, each checked for the exit code the README implies;
 * what a command shows in the README is kept, excerpted, under the name of its README region.
 */
import { type CommandOutput, normalizeCommand, runReadmeCommand } from './readme-commands';

/** Cuts a command's output to what the README shows; the cuts are marked `…` in the excerpt. */
export type Excerpt = (lines: readonly string[]) => string[];

export interface CommandOptions {
  /** @default 0 */
  readonly exit?: number;
  /** The README region (`<!-- transcript: NAME -->`) that shows this command and its output. */
  readonly show?: string;
  /** @default the whole output */
  readonly excerpt?: Excerpt;
}

/** What walks produce: the commands they ran, and the README regions' text. */
export class Transcripts {
  readonly commands = new Set<string>();

  /** @param log where each step is told as it ends (`npm run -s readme` tells stderr) */
  constructor(readonly log: (line: string) => void = () => {}) {}
  private readonly blocks = new Map<string, string[]>();

  add(region: string, block: string): void {
    this.blocks.set(region, [...(this.blocks.get(region) ?? []), block]);
  }

  /** Each region's text: its commands as `$ command` with their output, a blank line between them. */
  regions(): Map<string, string> {
    return new Map([...this.blocks].map(([name, blocks]) => [name, blocks.join('\n\n')]));
  }
}

/** How a walk runs a command: as a process by default (readme-commands.ts). */
export type CommandRunner = (
  command: string,
  options: { readonly cwd: string; readonly today: string },
) => Promise<CommandOutput>;

export class Walk {
  /** Today for the commands that follow; `on` moves it. */
  private today: string;

  constructor(
    private readonly cwd: string,
    today: string,
    private readonly transcripts: Transcripts,
    private readonly runner: CommandRunner = runReadmeCommand,
  ) {
    this.today = today;
  }

  /** The following commands run on `today` (YYYY-MM-DD), as if typed that day. */
  on(today: string): void {
    this.today = today;
  }

  /** Runs a hindsight command exactly as the README writes it; fails when its exit code differs. */
  async run(command: string, options: CommandOptions = {}): Promise<CommandOutput> {
    const started = Date.now();
    const result = await this.runner(command, { cwd: this.cwd, today: this.today });
    this.transcripts.log(
      `${this.today} $ ${normalizeCommand(command)}: exit ${result.code} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    const expected = options.exit ?? 0;
    if (result.code !== expected) {
      throw new Error(
        `README command \`${command}\` (today ${this.today}, in ${this.cwd}) exited ${result.code}, ` +
          `expected ${expected}. Its output:\n${result.output}`,
      );
    }
    this.transcripts.commands.add(normalizeCommand(command));
    if (options.show !== undefined) {
      const lines = masked(result.output).replace(/\n+$/, '').split('\n');
      const shown = (options.excerpt ?? ((all) => [...all]))(lines);
      this.transcripts.add(options.show, [`$ ${normalizeCommand(command)}`, ...shown].join('\n'));
    }
    return result;
  }

  /** A step the README describes in words (edit a stage, change a row by hand), done by the walk. */
  async step(what: string, work: () => void | Promise<void>): Promise<void> {
    await work();
    this.transcripts.log(`${this.today} (${what})`);
  }

  /** Records a command the README gives that the walk performs itself (`export`, `rm -rf .pipeline`). */
  performed(command: string): void {
    this.transcripts.commands.add(normalizeCommand(command));
  }
}

/**
 * What varies from run to run and is masked in every excerpt — nothing else is: durations printed
 * by `run` and `backfill` (`0.42 s`, `in 3.1 s`) become `… s`.
 */
export function masked(output: string): string {
  return output.replace(/\b\d+(\.\d+)? s\b/g, '… s');
}

/** Keeps the first `head` and the last `tail` lines, with a `…` line where the others were. */
export function keep(lines: readonly string[], head: number, tail: number): string[] {
  if (lines.length <= head + tail + 1) return [...lines];
  return [...lines.slice(0, head), '…', ...lines.slice(lines.length - tail)];
}
