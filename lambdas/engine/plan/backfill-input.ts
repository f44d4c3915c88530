/**
 * The backfill input (console, CLI, after-deploy trigger): its schema, and the checks that need
 * the pipeline or today's date. One place, so every entry refuses a bad input with the same words.
 */
import * as z from 'zod/mini';
import { DATE_FORM, type IsoDate, pastRangeProblems } from '../dates';
import { type FieldNames, fieldName, type InputProblem, InvalidInputError } from '../errors';
import { IDENTIFIER, IDENTIFIER_FORM, type Pipeline } from '../pipeline';
import { isoDate } from '../schemas';

/** `auto`: the ledger decides each date's stages; `explicit`: every date of a range reruns the stages asked for. */
export type BackfillMode = 'auto' | 'explicit';

const FIELDS = ['mode', 'from', 'to', 'startStage', 'stages', 'dryRun'] as const;
const STAGES_FORM = 'a list of stage names, e.g. ["transform"]';

/**
 * The backfill input, as typed in the console, passed by the CLI or sent by the after-deploy
 * trigger. Strict: an unknown field is refused. Checks that need the pipeline or today's date
 * are made by `parseBackfillInput`.
 */
export const BackfillRequestSchema = z.strictObject({
  mode: z.optional(z.enum(['auto', 'explicit'], { error: '"auto" or "explicit"' })),
  from: z.optional(isoDate),
  to: z.optional(isoDate),
  // Stage names reach SQL and state names: no metacharacters even before the pipeline is known.
  startStage: z.optional(
    z.string({ error: IDENTIFIER_FORM }).check(z.regex(IDENTIFIER, { error: IDENTIFIER_FORM })),
  ),
  stages: z.optional(
    z
      .array(z.string().check(z.regex(IDENTIFIER)), { error: STAGES_FORM })
      .check(z.minLength(1, { error: STAGES_FORM })),
  ),
  dryRun: z.optional(z.boolean({ error: 'true or false' })),
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
 * `names` spells the fields as the entry point does: the console's JSON fields by default, the
 * CLI's flags (`--from`, `--start-stage`) for the CLI, which builds this same input from them.
 */
export function parseBackfillInput(
  raw: unknown,
  pipeline: Pipeline,
  today: IsoDate,
  maxDays: number,
  names?: FieldNames,
): ParsedBackfillInput {
  const stageForm = `one of ${pipeline.names.join(', ')}`;
  const n = (field: string) => fieldName(field, names);
  const explicitNeeds = `explicit mode needs ${n('from')}, ${n('to')} and ${n('startStage')} or ${n('stages')}`;
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
  const problem = (field: string, value: unknown, accepted: string) =>
    problems.push({ field: n(field), value, accepted });
  const stagesForm = `a list of stage names, each ${stageForm}`;

  const result = BackfillRequestSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problem(key, given.get(key), `only the fields ${FIELDS.map(n).join(', ')}`);
        }
        continue;
      }
      // The schema's messages are the accepted forms; only the stage list needs the pipeline.
      const field = String(issue.path[0]);
      problem(
        field,
        given.get(field),
        field === 'startStage' ? stageForm : field === 'stages' ? stagesForm : issue.message,
      );
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
    problem('startStage', startStage, stageForm);
  }
  const unknown = (stages ?? []).filter((stage) => !pipeline.names.includes(stage));
  if (unknown.length > 0) problem('stages', stages, stagesForm);
  if (given.get('startStage') !== undefined && given.get('stages') !== undefined) {
    problem(
      'stages',
      given.get('stages'),
      `nothing when ${n('startStage')} is given: one or the other (${n('startStage')} X is ${n('stages')} [X])`,
    );
  }
  if (resolvedMode === 'auto') {
    for (const field of ['startStage', 'stages'] as const) {
      if (given.get(field) === undefined) continue;
      problem(
        field,
        given.get(field),
        `nothing in auto mode, which finds each date's stages (remove ${n(field)}, or set mode to "explicit")`,
      );
    }
  }
  if (resolvedMode === 'explicit') {
    for (const field of ['from', 'to'] as const) {
      if (given.get(field) === undefined) problem(field, undefined, `${forms[field]} (${explicitNeeds})`);
    }
    if (!stagesGiven) problem('startStage', undefined, `${stageForm} (${explicitNeeds})`);
  }
  problems.push(
    ...pastRangeProblems({ from, to }, today, maxDays, 'a backfill covers', '; split a longer one', names),
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

function parsedValue<T>(result: ReturnType<typeof z.safeParse<z.ZodMiniType<T>>>): T | undefined {
  return result.success ? result.data : undefined;
}
