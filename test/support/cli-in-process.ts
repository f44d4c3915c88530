/**
 * Runs `hindsight` in this process, output captured and no terminal, for tests whose mocks or
 * clock must reach the CLI (test/support/cli.ts runs it as a child process instead).
 */
import { type CliIo, runCli } from '../../cli/program';

export interface InProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCliInProcess(
  args: readonly string[],
  options: { readonly now: Date; readonly pollMs?: number; readonly cwd?: string },
): Promise<InProcessResult> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    isTty: false,
    now: () => options.now,
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  };
  const code = await runCli(args, io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}
