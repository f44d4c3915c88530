/**
 * DESIGN.md §9 at every entry point: each input of the corpus (test/fixtures/bad-inputs.json) is
 * refused with InvalidInputError naming the field and the accepted form, and leaves every
 * PostgreSQL row and the DynamoDB lease item exactly as they were: no write, no lease.
 *
 * Execution inputs go through the real local workflows (the synthesized state machines), handler
 * inputs straight to the step functions the Lambdas run, CLI flags to `hindsight` as a child process
 * in a project whose cdk.json names the meters fixture, or a project whose cdk.json is wrong.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { dateOf } from '../../lambdas/engine/dates';
import { handleLease } from '../../lambdas/workflow/lease-steps';
import { checkEarlierDates, prepareDate, runStageTask, validateAndPlan } from '../../lambdas/workflow/steps';
import type { JsonValue, WorkflowDefinitions } from '../../lib/workflow-definitions';
import { type LocalServices, openLocalServices } from '../../local/local-services';
import { type ExecutionOutcome, LocalWorkflows } from '../../local/local-workflows';
import { pipeline } from '../fixtures/pipelines/meters';
import { runCliProcess } from '../support/cli-process';
import { METERS } from '../support/fixture-pipelines';
import { fixtureProject } from '../support/fixture-project';
import { type StateChecksum, stateChecksum } from '../support/state-checksum';
import { testWorkflowDefinitions } from '../support/test-definitions';

// ---------------------------------------------------------------------------------------------
// The corpus

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(jsonValue),
    z.record(z.string(), jsonValue),
  ]),
);

const badInputSchema = z.strictObject({
  surface: z.enum([
    'backfill-input',
    'daily-input',
    'handler:lease',
    'handler:check-earlier-dates',
    'handler:plan',
    'handler:prepare-date',
    'handler:stage',
    'cli',
  ]),
  input: jsonValue,
  /** The field the error must name (`Invalid <field>: got …`). */
  field: z.string(),
  /** A fragment of the accepted form the error must state. */
  expect: z.string(),
  note: z.string(),
  /** For `handler:stage`: the stage the Lambda is bound to. */
  stage: z.string().optional(),
  /** For `cli`: the value the error must show after `got ` (as printed: JSON, or `nothing`). */
  got: z.string().optional(),
  /**
   * For `cli`: the cdk.json context of the project it runs in, over the meters fixture's; a null
   * removes the key. Without it, the case runs in a project naming the meters fixture.
   */
  project: z.record(z.string(), jsonValue).optional(),
  /** The product does not refuse this one as specified yet; the test is expected to fail (see the reply). */
});
type BadInput = z.infer<typeof badInputSchema>;

const TODAY = dateOf(new Date());
const FIXTURES = join(__dirname, '..', 'fixtures', 'pipelines');

/**
 * `@today` in the corpus stands for the current UTC date (a date that has not happened yet), and
 * `@fixtures/` for the folder of the fixture pipelines (an absolute path).
 */
function expandPlaceholders(value: JsonValue): JsonValue {
  if (value === '@today') return TODAY;
  if (typeof value === 'string') return value.replaceAll('@fixtures/', `${FIXTURES}/`);
  if (Array.isArray(value)) return value.map(expandPlaceholders);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, expandPlaceholders(inner)]));
  }
  return value;
}

/** The same placeholders in the text an error must contain; `@project` is the project's folder. */
function withPlaceholders(text: string, project: string): string {
  return text
    .replaceAll('@fixtures/', `${FIXTURES}/`)
    .replaceAll('@fixtures', FIXTURES)
    .replaceAll('@project', project);
}

const corpus: BadInput[] = z
  .strictObject({ $comment: z.string(), cases: z.array(badInputSchema).min(40) })
  .parse(JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'bad-inputs.json'), 'utf8')))
  .cases.map((entry) => ({
    ...entry,
    input: expandPlaceholders(entry.input),
    ...(entry.project === undefined
      ? {}
      : { project: expandPlaceholders(entry.project) as Record<string, JsonValue> }),
  }));

const inProcess = corpus.filter((entry) => entry.surface !== 'cli');
const cliCases = corpus.filter((entry) => entry.surface === 'cli');

function caseName(entry: BadInput): string {
  const shown = JSON.stringify(entry.project === undefined ? entry.input : [entry.project, entry.input]);
  return `refuses ${entry.surface} (${entry.note}): ${shown.length > 90 ? `${shown.slice(0, 87)}...` : shown}`;
}

// ---------------------------------------------------------------------------------------------
// The installation the inputs are thrown at

const SEED_DATES = ['2026-10-01', '2026-10-02', '2026-10-03'];

let root: string;
let dataDir: string;
/** The project the CLI cases run in: its cdk.json names the meters fixture. */
let project: string;
let services: LocalServices | undefined;
let workflows: LocalWorkflows;
let definitions: WorkflowDefinitions;
const tally = { refused: 0, cli: 0, seconds: { inProcess: 0, cli: 0 } };

function open(): LocalServices {
  if (services === undefined) throw new Error('The local services are closed.');
  return services;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hindsight-bad-input-'));
  dataDir = join(root, 'data');
  project = fixtureProject();
  definitions = testWorkflowDefinitions('bad-input', pipeline);
  services = await openLocalServices({
    dataDir,
    pipeline,
    migrationsDirectory: METERS.migrationsDirectory,
    params: { rowsPerDay: '100' },
  });
  workflows = await LocalWorkflows.create(services, definitions, { pauseMs: 20 });
  for (const date of SEED_DATES) {
    const outcome = await workflows.start('daily', { date }).done;
    if (outcome.status !== 'SUCCEEDED') throw new Error(`Seeding ${date}: ${JSON.stringify(outcome)}`);
  }
});

afterAll(async () => {
  await services?.close();
  for (const directory of [root, project]) if (directory) rmSync(directory, { recursive: true, force: true });
  console.log(
    `Bad inputs refused: ${tally.refused} of ${corpus.length} ` +
      `(${inProcess.length} execution and handler inputs in ${tally.seconds.inProcess.toFixed(1)} s, ` +
      `${tally.cli} CLI invocations in ${tally.seconds.cli.toFixed(1)} s).`,
  );
});

/** How an attempt ended: the error's name and message, or what was returned when nothing was refused. */
interface Attempt {
  readonly error: string;
  readonly message: string;
}

function fromOutcome(outcome: ExecutionOutcome): Attempt {
  if (outcome.status === 'FAILED') return { error: outcome.error, message: outcome.cause };
  return { error: `none (${outcome.status})`, message: JSON.stringify(outcome) };
}

async function fromCall(call: () => Promise<unknown>): Promise<Attempt> {
  try {
    return { error: 'none (accepted)', message: JSON.stringify(await call()) };
  } catch (error) {
    return error instanceof Error
      ? { error: error.name, message: error.message }
      : { error: 'non-Error', message: String(error) };
  }
}

/** Feeds one input to its entry point, the way that entry point is reached in production. */
async function attempt(entry: BadInput): Promise<Attempt> {
  const { deps } = open();
  switch (entry.surface) {
    case 'backfill-input':
      return fromOutcome(await workflows.start('backfill', entry.input).done);
    case 'daily-input':
      return fromOutcome(await workflows.start('daily', entry.input).done);
    case 'handler:lease':
      return fromCall(() => handleLease(deps, entry.input));
    case 'handler:check-earlier-dates':
      return fromCall(() => checkEarlierDates(deps, entry.input));
    case 'handler:plan':
      return fromCall(() => validateAndPlan(deps, entry.input));
    case 'handler:prepare-date':
      return fromCall(() => prepareDate(deps, entry.input));
    case 'handler:stage':
      return fromCall(() => runStageTask(deps, entry.stage ?? '', entry.input));
    case 'cli':
      throw new Error('CLI cases run as child processes.');
  }
}

function expectRefused(entry: BadInput, result: Attempt): void {
  expect(result.error).toBe('InvalidInputError');
  expect(result.message).toContain(`Invalid ${entry.field}: got `);
  expect(result.message).toContain(entry.expect);
}

/** Runs the input and checks the refusal, then that no row and no lease changed. */
async function refuseInProcess(entry: BadInput): Promise<void> {
  const before: StateChecksum = await stateChecksum(open());
  expect(before.lease?.holder).toBeNull();

  const result = await attempt(entry);

  const after = await stateChecksum(open());
  expect(after).toEqual(before); // every row of every table, and the lease item with its token
  expect(after.lease?.holder).toBeNull(); // no lease was taken
  expect(open().running.size).toBe(0);
  expectRefused(entry, result);
}

describe('execution and handler inputs', () => {
  let started = 0;
  beforeAll(() => {
    started = performance.now();
  });
  afterAll(() => {
    tally.seconds.inProcess = (performance.now() - started) / 1000;
  });

  it('starts from seeded days and a released lease', async () => {
    const state = await stateChecksum(open());
    expect(state.lease).toMatchObject({ holder: null });
    const { rows } = await open().deps.sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM hindsight_stage_state',
    );
    expect(rows[0].n).toBe(SEED_DATES.length * pipeline.stages.length);
  });

  it.each(inProcess.map((entry) => [caseName(entry), entry] as const))('%s', async (_name, entry) => {
    await refuseInProcess(entry);
    tally.refused++;
  });

  // A refused input is echoed in the error, which Step Functions keeps as the execution's cause (at
  // most 32,768 characters): a 200 KB input must still give a message of a few short lines.
  const manyFields = Object.fromEntries(
    Array.from({ length: 20_000 }, (_, i) => [`field${String(i).padStart(5, '0')}`, 1]),
  );
  const oversized: ReadonlyArray<{
    name: string;
    kind: 'daily' | 'backfill';
    input: JsonValue;
    first: string;
    last?: string;
  }> = [
    {
      name: 'a 200 KB date to the daily workflow',
      kind: 'daily',
      input: { date: '9'.repeat(200_000) },
      first: `Invalid date: got "${'9'.repeat(99)}… [cut: 200,002 characters in all]; expected a real calendar date`,
    },
    {
      name: 'a field named with 200 KB to the backfill workflow',
      kind: 'backfill',
      input: { mode: 'auto', ['k'.repeat(200_000)]: true },
      first: `Invalid ${'k'.repeat(100)}… [cut: 200,000 characters in all]: got true; expected only the fields`,
    },
    {
      name: '20,000 unknown fields (200 KB) to the backfill workflow',
      kind: 'backfill',
      input: { mode: 'auto', ...manyFields },
      first: 'Invalid field00000: got 1; expected only the fields',
      last: '(and 19,990 more problems, 20,000 in all)',
    },
  ];
  it.each(oversized)(
    'refuses $name with a short message, the value cut with a marker',
    async ({ kind, input, first, last }) => {
      expect(JSON.stringify(input).length).toBeGreaterThan(200_000);
      const before = await stateChecksum(open());

      const outcome = await workflows.start(kind, input).done;

      expect(await stateChecksum(open())).toEqual(before);
      const result = fromOutcome(outcome);
      expect(result.error).toBe('InvalidInputError');
      expect(result.message.slice(0, first.length)).toBe(first);
      if (last !== undefined) expect(result.message.slice(-last.length)).toBe(last);
      expect(result.message.length).toBeLessThan(2_000);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// CLI: a child process per case, on the seeded data directory (closed here, so the CLI could open it),
// in the meters project or in one whose cdk.json the case spells out

/** Every file of the data directory with its size and modification time: any open leaves a trace. */
function fingerprint(directory: string): string[] {
  const files: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const stat = statSync(full);
        files.push(`${relative(directory, full)} ${stat.size} ${stat.mtimeMs}`);
      }
    }
  };
  walk(directory);
  return files.sort();
}

/** A project whose cdk.json has the meters fixture's context with `context` over it (null removes a key). */
function projectWith(context: Readonly<Record<string, JsonValue>>): string {
  const folder = fixtureProject();
  const cdkJson = JSON.parse(readFileSync(join(folder, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  for (const [key, value] of Object.entries(context)) {
    if (value === null) delete cdkJson.context[key];
    else cdkJson.context[key] = value;
  }
  writeFileSync(join(folder, 'cdk.json'), `${JSON.stringify(cdkJson, null, 2)}\n`);
  return folder;
}

describe('CLI flags and the project', () => {
  let before: StateChecksum;
  let files: string[];
  let started = 0;

  beforeAll(async () => {
    before = await stateChecksum(open());
    await open().close();
    services = undefined;
    files = fingerprint(dataDir);
    started = performance.now();
  });

  afterAll(() => {
    tally.seconds.cli = (performance.now() - started) / 1000;
  });

  it.each(cliCases.map((entry) => [caseName(entry), entry] as const))('%s', async (_name, entry) => {
    const argv = z.array(z.string()).parse(entry.input);
    const cwd = entry.project === undefined ? project : projectWith(entry.project);

    try {
      const result = await runCliProcess(['--data-dir', dataDir, ...argv], 60_000, cwd);
      tally.cli++;

      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: '' });
      expect(result.stderr).toContain(
        `Invalid ${entry.field}: got ${withPlaceholders(entry.got ?? '', cwd)}`,
      );
      expect(result.stderr).toContain(withPlaceholders(entry.expect, cwd));
      expect(result.stderr).toContain('Nothing was changed.');
      // The CLI refused before opening the data directory: not one file was touched, nor the project.
      expect(fingerprint(dataDir)).toEqual(files);
      expect(readdirSync(cwd)).toEqual(['cdk.json']);
      tally.refused++;
    } finally {
      if (cwd !== project) rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('leaves every row and the lease as they were after all the refused invocations', async () => {
    services = await openLocalServices({
      dataDir,
      pipeline,
      migrationsDirectory: METERS.migrationsDirectory,
      params: { rowsPerDay: '100' },
    });
    const after = await stateChecksum(services);
    expect(after).toEqual(before);
    expect(after.lease?.holder).toBeNull();
  });
});
