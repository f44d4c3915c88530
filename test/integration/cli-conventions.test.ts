/**
 * What `hindsight` says around its runs, as a user sees it: a child process per command (output
 * piped, stdin not a terminal) in a fixture project on the meters pipeline (collect → validate →
 * summarize → trend, which reads 7 days of summarize → report).
 *
 * No command leaves dates stale in silence (after `run`, after a ranged `backfill`, and in `plan`
 * before anything runs); the refusal of a daily run names the CLI's command; a backfill without a
 * terminal needs `--yes`; `--json` prints JSON only; Ctrl-C exits 130 saying how to resume; and
 * the conventions: `--version`, help with global options and examples, NO_COLOR / FORCE_COLOR.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliIo, EXIT, runCli } from '../../cli/program';
import { type CliResult, hindsight, REPOSITORY, snapshotTree, startHindsight } from '../support/cli';
import { fixtureProject } from '../support/fixture-project';

const ROWS = ['--param', 'rowsPerDay=100'];
/** The rehearsed change: validate v2, so every date reruns from validate. */
const V2 = ['--stages', join(__dirname, '..', 'fixtures', 'pipelines', 'meters-validate-v2.ts')];

let root: string;
let project: string;
let dataDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hindsight-conventions-'));
  dataDir = join(root, 'data');
  project = fixtureProject();
});

afterAll(() => {
  for (const directory of [root, project]) if (directory) rmSync(directory, { recursive: true, force: true });
});

function cli(args: readonly string[]): Promise<CliResult> {
  return hindsight(['--data-dir', dataDir, ...args], { cwd: project });
}

function succeeded(result: CliResult): string {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.stdout;
}

describe('hindsight never leaves dates stale in silence', () => {
  it('says which later dates a rerun of a done date leaves stale, and the command that reruns them', async () => {
    succeeded(await cli([...ROWS, 'run', '--from', '2026-01-01', '--to', '2026-01-10']));

    const rerun = succeeded(await cli([...ROWS, 'run', '--date', '2026-01-03']));

    expect(rerun).toContain('Ran 1 date through 5 stages');
    // trend reads 7 days of summarize: 01-04 .. 01-09 read the run of 01-03 that was replaced.
    expect(rerun).toContain(
      'Still stale: 6 dates (2026-01-04 .. 2026-01-09), because input of trend changed: summarize was rerun after trend read it.\n' +
        `Rerun them with: hindsight --data-dir ${dataDir} --param rowsPerDay=100 backfill --auto`,
    );
  });

  it('says in the plan, before anything runs, which dates a ranged backfill leaves stale', async () => {
    const plan = succeeded(await cli([...ROWS, 'plan', '--from', '2026-01-07']));

    expect(plan).toContain('Backfill plan (auto) for 2026-01-07 .. 2026-01-10: 3 dates to rerun');
    expect(plan).toContain(
      '3 dates will stay stale after this backfill (2026-01-04 .. 2026-01-06), because input of trend changed: ' +
        'summarize was rerun after trend read it (3 before --from 2026-01-07).\n' +
        `Rerun everything stale with: hindsight --data-dir ${dataDir} --param rowsPerDay=100 backfill --auto`,
    );
  });

  it('refuses a backfill without --yes when there is no terminal to ask on, exit 2, changing nothing', async () => {
    const before = snapshotTree(dataDir);

    const refused = await cli([...ROWS, 'backfill', '--auto', '--from', '2026-01-07']);

    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toBe(
      'Invalid --yes: got nothing; expected --yes: there is no terminal to confirm the backfill on ' +
        '(stdin is not a terminal); pass --yes to run it without asking, or --dry-run to see the plan only.\n' +
        'Nothing was changed.\n',
    );
    expect(refused.stdout).toBe('');
    expect(snapshotTree(dataDir)).toEqual(before);
  });

  it('after a ranged backfill, says what is still stale: what its plan said would be', async () => {
    const backfill = succeeded(await cli([...ROWS, 'backfill', '--auto', '--from', '2026-01-07', '--yes']));

    const lines = backfill.trimEnd().split('\n');
    // The progress ends with every date done, then the totals, then what is still stale.
    expect(lines.slice(-4)).toEqual([
      '[3/3] dates done',
      'Backfill done: 3 dates, 6 stage-runs.',
      'Still stale: 3 dates (2026-01-04 .. 2026-01-06), because input of trend changed: summarize was rerun after trend read it.',
      `Rerun them with: hindsight --data-dir ${dataDir} --param rowsPerDay=100 backfill --auto`,
    ]);
  });

  it('prints JSON only on stdout for plan --json and status --json', async () => {
    const plan = await cli([...ROWS, 'plan', '--json']);
    const status = await cli(['status', '--json']);

    expect(plan.code).toBe(EXIT.ok);
    expect(JSON.parse(plan.stdout)).toMatchObject({ mode: 'auto', totals: { dates: 3 } });
    expect(status.code).toBe(EXIT.ok);
    expect(JSON.parse(status.stdout)).toMatchObject({ from: '2026-01-01', to: '2026-01-10' });
    // A first command on a new data directory too (creating it says nothing on stdout).
    const fresh = await hindsight(['--data-dir', join(root, 'fresh'), 'plan', '--json'], { cwd: project });
    expect(fresh.code).toBe(EXIT.ok);
    expect(JSON.parse(fresh.stdout)).toMatchObject({ mode: 'auto', dates: [] });
  });

  it('names `hindsight backfill --auto` when a daily run is refused for stale earlier dates, not the console input', async () => {
    // 2026-01-11 never ran: 2026-01-12's trend window reads it.
    const refused = await cli([...ROWS, 'run', '--date', '2026-01-12']);

    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stderr).toContain('Daily run for 2026-01-12 failed: EarlierDatesStaleError:');
    expect(refused.stderr).toContain(
      `Nothing was written, and 2026-01-12 stays due. Run \`hindsight --data-dir ${dataDir} --param rowsPerDay=100 backfill --auto\`: ` +
        'it reruns those dates in order, then runs 2026-01-12.',
    );
    expect(refused.stderr).not.toContain('{"mode"');
  });

  it('exits 130 on Ctrl-C during a backfill, saying that backfill --auto resumes', async () => {
    const running = startHindsight(['--data-dir', dataDir, ...V2, ...ROWS, 'backfill', '--auto', '--yes'], {
      cwd: project,
    });
    await running.waitForStdout(/^\[2\/\d+\] 2026-01-/m);

    process.kill(running.pid!, 'SIGINT');
    const result = await running.result;

    expect(result.code).toBe(130);
    expect(result.stderr).toBe(
      'Interrupted: the stage under way was rolled back; the dates and stages done are kept. ' +
        `\`hindsight --data-dir ${dataDir} --stages ${V2[1]} --param rowsPerDay=100 backfill --auto\` resumes: ` +
        'it reruns what is still stale or missing.\n',
    );
    // It does resume: the next backfill takes over and leaves nothing stale.
    const resumed = succeeded(await cli([...V2, ...ROWS, 'backfill', '--auto', '--yes']));
    expect(resumed).toContain('Backfill done');
    expect(resumed).not.toContain('Still stale');
  });
});

describe('hindsight follows the conventions of command-line tools', () => {
  it('prints the package version on --version', async () => {
    const { version } = JSON.parse(readFileSync(join(REPOSITORY, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(succeeded(await hindsight(['--version'], { cwd: project }))).toBe(`${version}\n`);
  });

  it('shows one example per command, and the global options in a command help', async () => {
    const help = succeeded(await hindsight(['--help'], { cwd: project }));
    for (const command of [
      'run',
      'plan',
      'backfill',
      'status',
      'migrate',
      'lock',
      'transition new',
      'verify',
    ]) {
      expect(help).toMatch(new RegExp(`^ {2}\\$ hindsight ${command} `, 'm'));
    }
    const run = succeeded(await hindsight(['run', '--help'], { cwd: project }));
    expect(run).toContain('Global Options:');
    expect(run).toContain('--no-color');
    expect(run).toContain('Example:\n  $ hindsight run --date 2026-11-23');
  });

  it('colours the grid on a terminal or with FORCE_COLOR, never with NO_COLOR or --no-color', async () => {
    const ESC = '\u001b[';
    const status = async (args: readonly string[], isTty: boolean, env: Record<string, string>) => {
      const out: string[] = [];
      const io: CliIo = {
        out: (text) => out.push(text),
        err: (text) => out.push(text),
        isTty,
        env,
        now: () => new Date('2026-01-20T08:00:00Z'),
        cwd: project,
      };
      expect(await runCli(['--data-dir', dataDir, ...args, 'status'], io)).toBe(EXIT.ok);
      return out.join('\n');
    };
    expect(await status([], true, {})).toContain(ESC);
    expect(await status([], false, {})).not.toContain(ESC);
    expect(await status([], false, { FORCE_COLOR: '1' })).toContain(ESC);
    expect(await status([], true, { NO_COLOR: '1' })).not.toContain(ESC);
    expect(await status(['--no-color'], true, { FORCE_COLOR: '1' })).not.toContain(ESC);
  });
});
