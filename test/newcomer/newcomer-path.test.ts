/**
 * The newcomer's path, end to end, as a team takes it: pack this repository, `hindsight init` a
 * project that depends on the tarball, `npm install` it (the registry for the third-party
 * packages, through the npm cache), then in that project `npm start`, `npm test`, `npm run lint`,
 * `npm run synth`, and `hindsight plan` after a stage's version is bumped. It prints how long the
 * path took and what the tarball holds (the README's "Packaging" note quotes them).
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

const REPOSITORY = join(__dirname, '..', '..');
/** Minutes a step may take on a loaded 2-core machine before the test gives up on it. */
const STEP_TIMEOUT_MS = 15 * 60_000;
jest.setTimeout(STEP_TIMEOUT_MS);

interface StepResult {
  readonly code: number | null;
  readonly output: string;
  readonly seconds: number;
}

/**
 * A user's shell: the Node that runs the tests (24) first on the PATH, nothing of jest's
 * environment, no colours.
 */
function shellEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['NODE_OPTIONS', 'JEST_WORKER_ID', 'DATABASE_URL', 'FORCE_COLOR', 'INIT_CWD'])
    delete env[key];
  for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];
  env.PATH = [dirname(process.execPath), env.PATH ?? ''].join(delimiter);
  env.NO_COLOR = '1';
  return env;
}

function step(command: string, args: readonly string[], cwd: string): Promise<StepResult> {
  const started = Date.now();
  const options: SpawnOptions = { cwd, env: shellEnv(), stdio: ['ignore', 'pipe', 'pipe'] };
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, options);
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Runs a step and fails the test with its output when it does not exit 0. */
async function succeed(command: string, args: readonly string[], cwd: string): Promise<StepResult> {
  const result = await step(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${result.code}:\n${result.output}`);
  }
  return result;
}

interface PackedFile {
  readonly path: string;
}
interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: readonly PackedFile[];
}

/** `npm pack --json` prints the build's own lines first; the JSON array is what follows them. */
function packResult(output: string): PackResult {
  const start = output.search(/^\[/m);
  return (JSON.parse(output.slice(start)) as PackResult[])[0];
}

describe('The newcomer path: pack, init, install, start, test, synth, plan', () => {
  const workspace = mkdtempSync(join(tmpdir(), 'hindsight-newcomer-'));
  const project = join(workspace, 'my-pipeline');
  const seconds: Record<string, number> = {};
  let pathStarted = 0;
  let packed: PackResult;

  afterAll(() => {
    const total = (Date.now() - pathStarted) / 1000;
    const steps = Object.entries(seconds)
      .map(([name, s]) => `${name} ${s.toFixed(1)} s`)
      .join(', ');
    process.stdout.write(
      `\nNewcomer path: ${total.toFixed(0)} s in all (${steps}).\n` +
        (packed
          ? `Tarball ${packed.filename}: ${(packed.size / 1024).toFixed(0)} KiB packed, ` +
            `${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${packed.entryCount} files.\n`
          : ''),
    );
    rmSync(workspace, { recursive: true, force: true });
  });

  it('packs what a consumer needs and nothing else', async () => {
    pathStarted = Date.now();
    const result = await succeed('npm', ['pack', '--json', '--pack-destination', workspace], REPOSITORY);
    seconds.pack = result.seconds;
    packed = packResult(result.output);

    const paths = packed.files.map((file) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'bin/hindsight.js',
        'dist/bin/hindsight.js',
        'dist/lambdas/engine/index.js',
        'dist/lambdas/engine/index.d.ts',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/local/test-kit.d.ts',
        'dist/lambdas/handlers/stage.js',
        'dist/lambdas/ledger/migrations/0001_ledger.sql',
        'templates/project/pipeline/stages/page_views.ts',
      ]),
    );
    // No sources, tests, bench, examples or the example pipeline: only dist/ holds code.
    const outside = paths.filter((path) => !/^(dist|templates)\//.test(path));
    expect(outside.sort()).toEqual(['CHANGELOG.md', 'README.md', 'bin/hindsight.js', 'package.json']);
    expect(paths.filter((path) => path.startsWith('dist/') && /\.test\.|\/bin\/app\./.test(path))).toEqual(
      [],
    );
  });

  it('init writes a project that depends on the tarball', async () => {
    const tarball = join(workspace, packed.filename);
    const result = await succeed(
      process.execPath,
      [join(REPOSITORY, 'bin', 'hindsight.js'), 'init', 'my-pipeline', '--hindsight', tarball],
      workspace,
    );
    seconds.init = result.seconds;
    expect(result.output).toContain(`Wrote my-pipeline into my-pipeline`);
  });

  it('npm install installs it (Node 24 with it)', async () => {
    const result = await succeed('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project);
    seconds.install = result.seconds;
    const version = await succeed('npm', ['exec', '--', 'node', '--version'], project);
    expect(version.output.trim()).toMatch(/^v24\./);
  });

  it('npm start runs the pipeline locally and shows every date fresh', async () => {
    const result = await succeed('npm', ['start'], project);
    seconds.start = result.seconds;
    expect(result.output).toMatch(/\(60 fresh, 0 stale, 0 missing\)/);
  });

  it("npm test passes the project's stage test", async () => {
    const result = await succeed('npm', ['test'], project);
    seconds.test = result.seconds;
    expect(result.output).toMatch(/pass 2/);
    expect(result.output).toMatch(/fail 0/);
  });

  it('npm run lint typechecks it against the packed declarations, and the lock is current', async () => {
    const lint = await succeed('npm', ['run', 'lint'], project);
    seconds.lint = lint.seconds;
    const lock = await succeed('npx', ['hindsight', 'lock', '--check'], project);
    expect(lock.output).toContain("hindsight.lock.json matches every stage's code and version.");
  });

  it('npm run synth synthesizes the stack with its stages, cdk-nag clean', async () => {
    const result = await succeed('npm', ['run', 'synth', '--', '--quiet'], project);
    seconds.synth = result.seconds;
    const template = JSON.parse(readFileSync(join(project, 'cdk.out', 'MyPipeline.template.json'), 'utf8'));
    const stages = Object.values(template.Resources as Record<string, { Metadata?: Record<string, unknown> }>)
      .map((resource) => resource.Metadata?.['hindsight:stage'])
      .filter((stage) => stage !== undefined);
    expect(stages.sort()).toEqual(['page_views', 'views_3d']);
  });

  it('hindsight plan names the stage whose version was bumped', async () => {
    const stageFile = join(project, 'pipeline', 'stages', 'views_3d.ts');
    writeFileSync(stageFile, readFileSync(stageFile, 'utf8').replace('version: 1,', 'version: 2,'));

    const result = await succeed('npx', ['hindsight', 'plan'], project);
    seconds.plan = result.seconds;
    expect(result.output).toContain('why: code changed: views_3d v1 → v2');
    expect(result.output).toMatch(/30 dates to rerun/);
  });
});
