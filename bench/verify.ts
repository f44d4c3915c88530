/**
 * Section 8 — `hindsight verify` next to a backfill of the same dates: 30 dates, every stage, on
 * copies of one data directory (PGlite, the whole chain already run at 1,000 rows/day). Three
 * paths over the same (date, stage) cells, each run twice, best kept: verify (`chooseVerification`
 * + `verifySelection`: one rolled-back transaction per cell), the backfill workflow from the first
 * stage (LocalWorkflows), and `runStage` called directly. Throughput is stage-dates per second;
 * verify must compare every cell (none stale, missing or failed), or the benchmark fails, and what
 * it found (same, differs) is reported with the figures. SQL statements per stage-date come
 * from a timing wrapper around the same SqlClient. The AWS cost of a scheduled verification is read
 * off the synthesized Verify workflow (`hindsight:verify`): transitions and Lambda invocations
 * along its success path for a 30-date sample.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { PgliteSqlClient } from '../lambdas/adapters/pglite-sql';
import { dateOf, dateRange, type IsoDate } from '../lambdas/engine/dates';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { PipelineParams } from '../lambdas/engine/stage';
import type { Transition } from '../lambdas/engine/transition';
import { runStage } from '../lambdas/workflow/stage-runner';
import { chooseVerification, rollingBack, verifySelection } from '../lambdas/workflow/verify';
import { HindsightStack } from '../lib/hindsight-stack';
import { packageRootOf } from '../lib/project';
import {
  type AslDefinition,
  stateMachineFromTemplate,
  type WorkflowDefinitions,
} from '../lib/workflow-definitions';
import { openLocalServices } from '../local/local-services';
import { LocalWorkflows } from '../local/local-workflows';
import { PRICE_PER_TRANSITION, walkSuccessPath } from './cost';
import { best, progress, timed } from './measure';
import { sizeParams, source } from './project';
import { formatTable, int, ms, ratio, usd } from './table';
import { TimingSqlClient } from './timing-sql';

const FROM: IsoDate = '2025-01-01';
const TO: IsoDate = '2025-01-30';
const ROWS_PER_DAY = 1_000;
const RUNS = 2;
/** The sample a scheduled verification draws by default (`hindsight:verifySample`). */
const SAMPLE = 30;

export interface VerifyPath {
  readonly path: string;
  readonly runsMs: readonly number[];
  readonly bestMs: number;
  readonly stageDatesPerSecond: number;
  /** SQL statements per stage-date in the best run (transaction control excluded). */
  readonly statementsPerStageDate: number;
}

export interface VerifyBenchResult {
  readonly from: IsoDate;
  readonly to: IsoDate;
  readonly dates: number;
  readonly stageDates: number;
  readonly rowsPerDay: number;
  readonly statistic: 'best';
  readonly verify: VerifyPath;
  /** What verify found (the same in every run: each is a copy of one directory). */
  readonly found: { readonly same: number; readonly differs: number };
  readonly backfill: VerifyPath;
  readonly direct: VerifyPath;
  /** A scheduled verification in AWS, from the synthesized Verify workflow's success path. */
  readonly aws: {
    readonly sample: number;
    readonly transitions: number;
    readonly lambdaInvocations: number;
    readonly cost: number;
    /** Verify's local time for `sample` dates: a floor for the Lambda time (the Data API adds its round trips). */
    readonly localMsForSample: number;
  };
}

interface Sample {
  readonly ms: number;
  readonly statements: number;
  /** Verify only: cells found the same, and differing. */
  readonly found?: { readonly same: number; readonly differs: number };
}

export async function benchVerify(
  pipeline: Pipeline,
  transitions: readonly Transition[],
  definitions: WorkflowDefinitions,
): Promise<VerifyBenchResult> {
  const dates = dateRange(FROM, TO);
  const stageDates = dates.length * pipeline.names.length;
  const params: PipelineParams = sizeParams(ROWS_PER_DAY);
  const root = mkdtempSync(join(tmpdir(), 'hindsight-bench-verify-'));
  try {
    const template = join(root, 'template');
    progress(`verify: preparing a data directory with every stage run for ${dates.length} dates`);
    const services = await openLocalServices({
      dataDir: template,
      pipeline,
      params,
      migrationsDirectory: source.migrationsDirectory,
    });
    try {
      for (const date of dates) {
        for (const stage of pipeline.names) {
          await runStage(services.deps.sql, pipeline, { stage, date, fenceToken: 0 }, params);
        }
      }
    } finally {
      await services.close();
    }
    let copies = 0;
    const copy = () => {
      const dir = join(root, `run-${++copies}`);
      cpSync(template, dir, { recursive: true });
      return dir;
    };

    const verify = async (): Promise<Sample> => {
      const dir = copy();
      const sql = new TimingSqlClient(await PgliteSqlClient.open(join(dir, 'postgres')));
      try {
        const run = await timed(async () => {
          const selection = await chooseVerification(
            sql,
            pipeline,
            { from: FROM, to: TO },
            { today: dateOf(new Date()), maxDays: 3660 },
          );
          return verifySelection({ pipeline, params, rolledBack: rollingBack(sql) }, selection);
        });
        const { same, differs } = run.result.totals;
        if (same + differs !== stageDates) {
          throw new Error(`Verify did not compare every cell: ${JSON.stringify(run.result.totals)}`);
        }
        return { ms: run.ms, statements: sql.statements, found: { same, differs } };
      } finally {
        await sql.close();
        rmSync(dir, { recursive: true, force: true });
      }
    };

    const backfill = async (): Promise<Sample> => {
      const dir = copy();
      const local = await openLocalServices({
        dataDir: dir,
        pipeline,
        transitions,
        params,
        migrationsDirectory: source.migrationsDirectory,
      });
      try {
        const sql = new TimingSqlClient(local.deps.sql);
        const workflows = await LocalWorkflows.create(
          { ...local, deps: { ...local.deps, sql } },
          definitions,
          {
            pauseMs: 20,
          },
        );
        const run = await timed(
          () => workflows.start('backfill', { from: FROM, to: TO, startStage: pipeline.names[0] }).done,
        );
        if (run.result.status !== 'SUCCEEDED') {
          throw new Error(`The benchmark backfill did not succeed: ${JSON.stringify(run.result)}`);
        }
        return { ms: run.ms, statements: sql.statements };
      } finally {
        await local.close();
        rmSync(dir, { recursive: true, force: true });
      }
    };

    const direct = async (): Promise<Sample> => {
      const dir = copy();
      const sql = new TimingSqlClient(await PgliteSqlClient.open(join(dir, 'postgres')));
      try {
        const run = await timed(async () => {
          for (const date of dates) {
            for (const stage of pipeline.names)
              await runStage(sql, pipeline, { stage, date, fenceToken: 1 }, params);
          }
        });
        return { ms: run.ms, statements: sql.statements };
      } finally {
        await sql.close();
        rmSync(dir, { recursive: true, force: true });
      }
    };

    const samples: Record<'verify' | 'backfill' | 'direct', Sample[]> = {
      verify: [],
      backfill: [],
      direct: [],
    };
    for (let r = 0; r < RUNS; r++) {
      progress(`verify: verify, run ${r + 1}/${RUNS}`);
      samples.verify.push(await verify());
      progress(`verify: backfill workflow, run ${r + 1}/${RUNS}`);
      samples.backfill.push(await backfill());
      progress(`verify: runStage directly, run ${r + 1}/${RUNS}`);
      samples.direct.push(await direct());
    }
    const path = (name: string, runs: readonly Sample[]): VerifyPath => {
      const bestMs = best(runs.map((run) => run.ms));
      const fastest = runs.find((run) => run.ms === bestMs)!;
      return {
        path: name,
        runsMs: runs.map((run) => run.ms),
        bestMs,
        stageDatesPerSecond: stageDates / (bestMs / 1000),
        statementsPerStageDate: fastest.statements / stageDates,
      };
    };
    const verifyPath = path('verify (rolled back, compared)', samples.verify);

    progress('verify: synthesizing the Verify workflow for its cost');
    const definition = verifyDefinition(pipeline, transitions);
    const main = walkSuccessPath(definition);
    const perDate = walkSuccessPath(processorOf(definition));
    const transitionsForSample = main.transitions + SAMPLE * perDate.transitions;
    return {
      from: FROM,
      to: TO,
      dates: dates.length,
      stageDates,
      rowsPerDay: ROWS_PER_DAY,
      statistic: 'best',
      verify: verifyPath,
      found: samples.verify[0]?.found ?? { same: 0, differs: 0 },
      backfill: path('backfill workflow (from the first stage)', samples.backfill),
      direct: path('runStage directly', samples.direct),
      aws: {
        sample: SAMPLE,
        transitions: transitionsForSample,
        lambdaInvocations: main.lambdaInvocations + SAMPLE * perDate.lambdaInvocations,
        cost: transitionsForSample * PRICE_PER_TRANSITION,
        localMsForSample: (verifyPath.bestMs / dates.length) * SAMPLE,
      },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The Verify workflow's definition, as a stack with `hindsight:verify` synthesizes it (no bundling). */
function verifyDefinition(pipeline: Pipeline, transitions: readonly Transition[]): AslDefinition {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'hindsight:verify': true } });
  const stack = new HindsightStack(app, 'Hindsight', {
    source,
    pipeline: { pipeline, transitions },
    projectRoot: packageRootOf(join(__dirname, '..')) ?? join(__dirname, '..'),
  });
  const found = stateMachineFromTemplate(app.synth().getStackByName(stack.stackName).template, 'verify');
  if (!found) throw new Error('The stack synthesized with hindsight:verify has no Verify workflow.');
  return found.definition;
}

function processorOf(definition: AslDefinition): AslDefinition {
  for (const state of Object.values(definition.States)) {
    const processor = state.ItemProcessor;
    if (
      state.Type === 'Map' &&
      typeof processor === 'object' &&
      processor !== null &&
      !Array.isArray(processor)
    ) {
      return processor as AslDefinition;
    }
  }
  throw new Error('The Verify workflow has no Map state.');
}

export function formatVerify(result: VerifyBenchResult): string {
  const row = (p: VerifyPath) => [
    p.path,
    p.runsMs.map(ms).join(', '),
    ms(p.bestMs),
    ms(p.bestMs / result.stageDates),
    int(p.stageDatesPerSecond),
    ratio(p.bestMs / result.backfill.bestMs),
    p.statementsPerStageDate.toFixed(1),
  ];
  const table = formatTable(
    `8. Verify — ${result.dates} dates × every stage (${int(result.stageDates)} stage-dates), PGlite, ` +
      `${int(result.rowsPerDay)} rows/day, best of ${RUNS} each`,
    [
      { header: 'path', align: 'left' },
      { header: 'runs ms', align: 'left' },
      { header: 'best ms' },
      { header: 'ms per stage-date' },
      { header: 'stage-dates/s' },
      { header: 'vs backfill' },
      { header: 'SQL stmts per stage-date' },
    ],
    [row(result.verify), row(result.backfill), row(result.direct)],
  );
  const { aws, found } = result;
  return (
    `${table}\n   verify found ${found.same} cells the same and ${found.differs} differing (hindsight verify shows which)` +
    `\n   in AWS, a scheduled verification of ${aws.sample} dates: ${aws.transitions} transitions ` +
    `(${usd(aws.cost)}), ${aws.lambdaInvocations} Lambda invocations; local compute for those dates ` +
    `${ms(aws.localMsForSample)} ms (a floor for the Lambda time: add the Data API's round trips)`
  );
}
