import * as z from 'zod/mini';
import { dateOf, type IsoDate } from '../engine/dates';
import { InvalidInputError } from '../engine/errors';
import { identifier, isoDate, parseInput } from '../engine/schemas';
import {
  type CellVerdict,
  type DateVerification,
  differingTables,
  foundDifferences,
  type VerifySample,
  type VerifyTotals,
} from '../engine/verify';
import type { StepDependencies } from './steps';
import { chooseVerification, rollingBack, verifyDate } from './verify';

/** Dates one execution of the Verify workflow may recompute: it runs one Task per date, in one inline Map. */
export const VERIFY_MAX_DATES_PER_EXECUTION = 366;

/** Result of "Choose Dates To Verify" → `$.chosen`. */
export interface VerifyChosen {
  readonly from: IsoDate | null;
  readonly to: IsoDate | null;
  readonly stages: readonly string[];
  readonly sample: VerifySample | null;
  readonly historyStart: IsoDate | null;
  /** The Map's items: each date with a fresh cell, and those cells' stages. */
  readonly items: readonly VerifyDateInput[];
  /** Cells reported without a recomputation, by outcome. */
  readonly notVerified: { readonly stale: number; readonly missing: number; readonly skipped: number };
}

/** Payload of "Verify Date" (a Map item). */
export interface VerifyDateInput {
  readonly date: IsoDate;
  readonly stages: readonly string[];
}

/** Result of "Verify Date": the counts and the differing cells in words; the rows themselves are in its log line. */
export interface VerifyDateResult {
  readonly date: IsoDate;
  readonly counts: {
    readonly same: number;
    readonly differs: number;
    readonly failed: number;
    readonly stale: number;
  };
  /** `summarize: meter_daily 1 only stored, 1 only recomputed`, one per differing or failed cell. */
  readonly differing: readonly string[];
  readonly cells: readonly CellVerdict[];
}

/** Result of "Report Verification" → `$.report`. */
export interface VerifyWorkflowReport {
  readonly from: IsoDate | null;
  readonly to: IsoDate | null;
  readonly sample: VerifySample | null;
  readonly totals: VerifyTotals;
  readonly differs: boolean;
  /** One paragraph: the totals and the first differing cells. */
  readonly summary: string;
}

/** Differing cells named in the workflow's summary; the rest are counted. */
const SUMMARY_CELLS = 20;

const verifyTaskSchema = z.discriminatedUnion(
  'action',
  [
    z.strictObject({ action: z.literal('choose'), request: z.unknown() }),
    z.strictObject({
      action: z.literal('date'),
      date: isoDate,
      stages: z
        .array(identifier, { error: 'a list of stage names' })
        .check(z.minLength(1, { error: 'at least one stage' })),
      historyStart: isoDate,
    }),
    z.strictObject({
      action: z.literal('report'),
      chosen: z.looseObject({
        from: z.nullable(isoDate),
        to: z.nullable(isoDate),
        sample: z.nullable(z.object({ size: z.number(), of: z.number(), seed: z.string() })),
        items: z.array(z.unknown()),
        notVerified: z.object({ stale: z.number(), missing: z.number(), skipped: z.number() }),
      }),
      verified: z.array(
        z.object({
          date: isoDate,
          counts: z.object({ same: z.number(), differs: z.number(), failed: z.number(), stale: z.number() }),
          differing: z.array(z.string()),
        }),
        { error: 'the results of "Verify Date"' },
      ),
    }),
  ],
  { error: 'an object with "action": "choose", "date" or "report"' },
);

/** The Verify Lambda: one action per Task state. */
export async function verifyTask(
  deps: Pick<StepDependencies, 'sql' | 'pipeline' | 'params' | 'now' | 'maxBackfillDays'>,
  raw: unknown,
): Promise<VerifyChosen | VerifyDateResult | VerifyWorkflowReport> {
  const input = parseInput(verifyTaskSchema, raw);
  switch (input.action) {
    case 'choose':
      return chooseForWorkflow(deps, input.request);
    case 'date': {
      const unknown = input.stages.filter((stage) => !deps.pipeline.names.includes(stage));
      if (unknown.length > 0)
        throw InvalidInputError.of(
          'stages',
          unknown,
          `stages of ${deps.pipeline.names.join(', ')} (the dates were chosen with other code)`,
        );
      const verified = await verifyDate(
        { pipeline: deps.pipeline, params: deps.params, rolledBack: rollingBack(deps.sql) },
        { date: input.date, cells: input.stages.map((stage) => ({ stage, outcome: 'pending' })) },
        input.historyStart,
      );
      return dateResult(verified);
    }
    case 'report':
      return reportVerification(input.chosen, input.verified);
  }
}

async function chooseForWorkflow(
  deps: Pick<StepDependencies, 'sql' | 'pipeline' | 'now' | 'maxBackfillDays'>,
  request: unknown,
): Promise<VerifyChosen> {
  const selection = await chooseVerification(deps.sql, deps.pipeline, request, {
    today: dateOf(deps.now()),
    maxDays: deps.maxBackfillDays,
  });
  const items = selection.dates
    .map((date) => ({
      date: date.date,
      stages: date.cells.filter((cell) => cell.outcome === 'pending').map((cell) => cell.stage),
    }))
    .filter((item) => item.stages.length > 0);
  if (items.length > VERIFY_MAX_DATES_PER_EXECUTION) {
    throw InvalidInputError.of(
      'sample',
      selection.sample?.size,
      `at most ${VERIFY_MAX_DATES_PER_EXECUTION} dates per execution (this range has ${items.length} to recompute): give a sample, e.g. {"sample": 30}, or a shorter range`,
    );
  }
  const notVerified = { stale: 0, missing: 0, skipped: 0 };
  for (const cell of selection.dates.flatMap((date) => date.cells))
    if (cell.outcome !== 'pending') notVerified[cell.outcome]++;
  const { from, to, stages, sample, historyStart } = selection;
  return { from, to, stages, sample, historyStart, items, notVerified };
}

function dateResult(verified: DateVerification): VerifyDateResult {
  const counts = { same: 0, differs: 0, failed: 0, stale: 0 };
  const differing: string[] = [];
  for (const cell of verified.cells) {
    if (
      cell.outcome === 'same' ||
      cell.outcome === 'differs' ||
      cell.outcome === 'failed' ||
      cell.outcome === 'stale'
    )
      counts[cell.outcome]++;
    if (cell.outcome === 'failed') differing.push(`${cell.stage}: could not be recomputed: ${cell.error}`);
    const tables = differingTables(cell);
    if (tables.length > 0) {
      differing.push(
        `${cell.stage}: ${tables.map((t) => `${t.table} ${t.onlyStored} only stored, ${t.onlyRecomputed} only recomputed`).join('; ')}`,
      );
    }
  }
  return { date: verified.date, counts, differing, cells: verified.cells };
}

/** "Report Verification": the totals of every date, and the differing cells named. */
export function reportVerification(
  chosen: Pick<VerifyChosen, 'from' | 'to' | 'sample' | 'notVerified'> & {
    readonly items: readonly unknown[];
  },
  verified: readonly Pick<VerifyDateResult, 'date' | 'counts' | 'differing'>[],
): VerifyWorkflowReport {
  const totals = {
    dates: chosen.items.length,
    cells: 0,
    same: 0,
    differs: 0,
    failed: 0,
    stale: chosen.notVerified.stale,
    missing: chosen.notVerified.missing,
    skipped: chosen.notVerified.skipped,
  };
  for (const { counts } of verified) {
    totals.same += counts.same;
    totals.differs += counts.differs;
    totals.failed += counts.failed;
    totals.stale += counts.stale;
  }
  totals.cells =
    totals.same + totals.differs + totals.failed + totals.stale + totals.missing + totals.skipped;
  const lines = verified.flatMap(({ date, differing }) => differing.map((line) => `${date} ${line}`));
  const span = chosen.from === null || chosen.to === null ? 'no dates' : `${chosen.from} .. ${chosen.to}`;
  const drawn = chosen.sample ? ` (${chosen.sample.size} dates drawn with seed ${chosen.sample.seed})` : '';
  const summary = [
    `Verified ${span}${drawn}: ${totals.same} same, ${totals.differs} differ, ${totals.failed} failed; ` +
      `not verified: ${totals.stale} stale, ${totals.missing} missing, ${totals.skipped} skipped.`,
    ...lines.slice(0, SUMMARY_CELLS),
    ...(lines.length > SUMMARY_CELLS
      ? [`… and ${lines.length - SUMMARY_CELLS} more (see the "Verify Date" results).`]
      : []),
  ].join('\n');
  return {
    from: chosen.from,
    to: chosen.to,
    sample: chosen.sample,
    totals,
    differs: foundDifferences(totals),
    summary,
  };
}
