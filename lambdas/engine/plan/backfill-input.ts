/**
 * The backfill input (console, CLI, after-deploy trigger): its schema, and the checks that need
 * the pipeline or today's date. One place, so every entry refuses a bad input with the same words.
 */
import { z } from 'zod';
import { type IsoDate, isIsoDate, pastRangeProblems } from '../dates';
import { type InputProblem, InvalidInputError } from '../errors';
import { IDENTIFIER, IDENTIFIER_FORM, type Pipeline } from '../pipeline';

/** `auto`: the ledger decides each date's start stage; `explicit`: every date of a range from one stage. */
export type BackfillMode = 'auto' | 'explicit';

const FIELDS = ['mode', 'from', 'to', 'startStage', 'dryRun'] as const;
const DATE_FORM = 'a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31';
const EXPLICIT_NEEDS = 'explicit mode needs from, to and startStage';

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
  dryRun: z.boolean({ error: 'true or false' }).optional(),
});

/** The backfill input's shape once the schema accepted it. */
export type BackfillRequest = z.infer<typeof BackfillRequestSchema>;

/** A backfill input that passed every check; explicit mode always has its range and start stage. */
export type ParsedBackfillInput =
  | { readonly mode: 'auto'; readonly from?: IsoDate; readonly to?: IsoDate; readonly dryRun: boolean }
  | {
      readonly mode: 'explicit';
      readonly from: IsoDate;
      readonly to: IsoDate;
      readonly startStage: string;
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
        accepted: field === 'startStage' ? stageForm : issue.message,
      });
    }
  }

  // Each field on its own, so the checks below still run on the fields that are well formed.
  const shape = BackfillRequestSchema.shape;
  const mode = parsedValue(shape.mode.safeParse(given.get('mode')));
  const from = parsedValue(shape.from.safeParse(given.get('from')));
  const to = parsedValue(shape.to.safeParse(given.get('to')));
  const startStage = parsedValue(shape.startStage.safeParse(given.get('startStage')));
  const dryRun = parsedValue(shape.dryRun.safeParse(given.get('dryRun'))) ?? false;
  const resolvedMode: BackfillMode = mode ?? (given.get('startStage') !== undefined ? 'explicit' : 'auto');

  if (startStage !== undefined && !pipeline.names.includes(startStage)) {
    problems.push({ field: 'startStage', value: startStage, accepted: stageForm });
  }
  if (resolvedMode === 'auto' && given.get('startStage') !== undefined) {
    problems.push({
      field: 'startStage',
      value: given.get('startStage'),
      accepted:
        'nothing in auto mode, which finds each date\'s start stage (remove startStage, or set mode to "explicit")',
    });
  }
  if (resolvedMode === 'explicit') {
    for (const field of ['from', 'to', 'startStage'] as const) {
      if (given.get(field) === undefined) {
        problems.push({ field, value: undefined, accepted: `${forms[field]} (${EXPLICIT_NEEDS})` });
      }
    }
  }
  problems.push(
    ...pastRangeProblems({ from, to }, today, maxDays, 'a backfill covers', '; split a longer one'),
  );
  if (problems.length > 0) throw new InvalidInputError(problems);

  if (resolvedMode === 'explicit' && from !== undefined && to !== undefined && startStage !== undefined) {
    return { mode: 'explicit', from, to, startStage, dryRun };
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
