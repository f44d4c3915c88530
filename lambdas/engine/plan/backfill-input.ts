/**
 * The backfill input (console, CLI, after-deploy trigger): its schema, and the checks that need
 * the pipeline or today's date. One place, so every entry refuses a bad input with the same words.
 */
import { z } from 'zod';
import { type IsoDate, isIsoDate, pastRangeProblems } from '../dates';
import { type InputProblem, InvalidInputError } from '../errors';
import { IDENTIFIER, IDENTIFIER_FORM, type Pipeline } from '../pipeline';

/** `auto`: the ledger decides each date's stages; `explicit`: every date of a range reruns the stages asked for. */
export type BackfillMode = 'auto' | 'explicit';

const FIELDS = ['mode', 'from', 'to', 'startStage', 'stages', 'dryRun'] as const;
const STAGES_FORM = 'a list of stage names, e.g. ["transform"]';
const DATE_FORM = 'a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31';
const EXPLICIT_NEEDS = 'explicit mode needs from, to and startStage or stages';

/**
 * The backfill input, as typed in the console, passed by the CLI or sent by the after-deploy
 * trigger. Strict: an unknown field is refused. Checks that need the pipeline or today's date
 * are made by `parseBackfillInput`.
 */
export const BackfillRequestSchema = z.strictObject({
  mode: z.enum(['auto', 'explicit'], { error: '"auto" or "explicit"' }).optional(),
  from: z.string({ error: DATE_FORM }).refine(isIsoDate, { error: DATE_FORM }).optional(),
  to: z.string({ error: DATE_FORM }).refine(isIsoDate, { error: DATE_FORM }).optional(),
  // Stage names reach SQL and state names: no metacharacters even before the pipeline is known.
  startStage: z.string({ error: IDENTIFIER_FORM }).regex(IDENTIFIER, { error: IDENTIFIER_FORM }).optional(),
  stages: z
    .array(z.string().regex(IDENTIFIER), { error: STAGES_FORM })
    .min(1, { error: STAGES_FORM })
    .optional(),
  dryRun: z.boolean({ error: 'true or false' }).optional(),
});

/** The backfill input's shape once the schema accepted it. */
export type BackfillRequest = z.infer<typeof BackfillRequestSchema>;

/**
 * A backfill input that passed every check; explicit mode always has its range and the stages asked
 * for (`startStage` as one stage), which rerun with everything downstream of them.
 */
export type ParsedBackfillInput =
  | { readonly mode: 'auto'; readonly from?: IsoDate; readonly to?: IsoDate; readonly dryRun: boolean }
  | {
      readonly mode: 'explicit';
      readonly from: IsoDate;
      readonly to: IsoDate;
      readonly stages: readonly string[];
      /** The field the stages were given in, for the messages about them. */
      readonly stagesField: 'startStage' | 'stages';
      readonly dryRun: boolean;
    };

/**
 * Validates a backfill input against the schema, the pipeline's stages and `today` (dates up to
 * yesterday, ranges of at most `maxDays`). Collects every problem and throws one InvalidInputError.
 */
export function parseBackfillInput(
  raw: unknown,
  pipeline: Pipeline,
  today: IsoDate,
  maxDays: number,
): ParsedBackfillInput {
  const stageForm = `one of ${pipeline.names.join(', ')}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const example = pipeline.names[Math.min(1, pipeline.names.length - 1)];
    throw InvalidInputError.of(
      'input',
      raw,
      `an object such as {"mode": "auto"} or {"from": "2026-01-01", "to": "2026-01-31", "startStage": "${example}"}`,
    );
  }
  const given = new Map(Object.entries(raw));
  const problems: InputProblem[] = [];
  const forms = { from: DATE_FORM, to: DATE_FORM, startStage: stageForm };
  const stagesForm = `a list of stage names, each ${stageForm}`;

  const result = BackfillRequestSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problems.push({
            field: key,
            value: given.get(key),
            accepted: `only the fields ${FIELDS.join(', ')}`,
          });
        }
        continue;
      }
      // The schema's messages are the accepted forms; only the stage list needs the pipeline.
      const field = String(issue.path[0]);
      problems.push({
        field,
        value: given.get(field),
        accepted: field === 'startStage' ? stageForm : field === 'stages' ? stagesForm : issue.message,
      });
    }
  }

  // Each field on its own, so the checks below still run on the fields that are well formed.
  const shape = BackfillRequestSchema.shape;
  const mode = parsedValue(shape.mode.safeParse(given.get('mode')));
  const from = parsedValue(shape.from.safeParse(given.get('from')));
  const to = parsedValue(shape.to.safeParse(given.get('to')));
  const startStage = parsedValue(shape.startStage.safeParse(given.get('startStage')));
  const stages = parsedValue(shape.stages.safeParse(given.get('stages')));
  const dryRun = parsedValue(shape.dryRun.safeParse(given.get('dryRun'))) ?? false;
  const stagesGiven = given.get('startStage') !== undefined || given.get('stages') !== undefined;
  const resolvedMode: BackfillMode = mode ?? (stagesGiven ? 'explicit' : 'auto');

  if (startStage !== undefined && !pipeline.names.includes(startStage)) {
    problems.push({ field: 'startStage', value: startStage, accepted: stageForm });
  }
  const unknown = (stages ?? []).filter((stage) => !pipeline.names.includes(stage));
  if (unknown.length > 0) problems.push({ field: 'stages', value: stages, accepted: stagesForm });
  if (given.get('startStage') !== undefined && given.get('stages') !== undefined) {
    problems.push({
      field: 'stages',
      value: given.get('stages'),
      accepted: 'nothing when startStage is given: one or the other (startStage X is stages [X])',
    });
  }
  if (resolvedMode === 'auto') {
    for (const field of ['startStage', 'stages'] as const) {
      if (given.get(field) === undefined) continue;
      problems.push({
        field,
        value: given.get(field),
        accepted: `nothing in auto mode, which finds each date's stages (remove ${field}, or set mode to "explicit")`,
      });
    }
  }
  if (resolvedMode === 'explicit') {
    for (const field of ['from', 'to'] as const) {
      if (given.get(field) === undefined) {
        problems.push({ field, value: undefined, accepted: `${forms[field]} (${EXPLICIT_NEEDS})` });
      }
    }
    if (!stagesGiven) {
      problems.push({ field: 'startStage', value: undefined, accepted: `${stageForm} (${EXPLICIT_NEEDS})` });
    }
  }
  problems.push(
    ...pastRangeProblems({ from, to }, today, maxDays, 'a backfill covers', '; split a longer one'),
  );
  if (problems.length > 0) throw new InvalidInputError(problems);

  const requested = startStage !== undefined ? [startStage] : stages;
  if (resolvedMode === 'explicit' && from !== undefined && to !== undefined && requested !== undefined) {
    return {
      mode: 'explicit',
      from,
      to,
      stages: requested,
      stagesField: startStage !== undefined ? 'startStage' : 'stages',
      dryRun,
    };
  }
  return {
    mode: 'auto',
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    dryRun,
  };
}

function parsedValue<T>(result: z.ZodSafeParseResult<T>): T | undefined {
  return result.success ? result.data : undefined;
}
