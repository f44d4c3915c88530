/**
 * The verify input (the CLI's flags, the Verify workflow's console input, its schedule): its schema
 * and the checks that need the pipeline or today's date, in one place, so every entry refuses a bad
 * input with the same words.
 */
import * as z from 'zod/mini';
import { type IsoDate, pastRangeProblems } from '../dates';
import { type FieldNames, fieldName, type InputProblem, InvalidInputError } from '../errors';
import { IDENTIFIER, IDENTIFIER_FORM, type Pipeline } from '../pipeline';
import { isoDate } from '../schemas';

const FIELDS = ['from', 'to', 'stages', 'sample', 'seed'] as const;

/** A seed: what a sampled run prints, so the same sample can be drawn again. */
export const SEED = /^[A-Za-z0-9_-]{1,32}$/;
export const SEED_FORM = 'a seed of 1 to 32 letters, digits, - or _ (the one a sampled verify printed)';

const sampleForm = (maxDays: number) => `a whole number of dates from 1 to ${maxDays}`;

/**
 * What to verify, as typed in the console or given as flags. Strict: an unknown field is refused.
 * The checks that need the pipeline or today are made by `parseVerifyInput`.
 */
export const VerifyRequestSchema = z.strictObject({
  from: z.optional(isoDate),
  to: z.optional(isoDate),
  // Stage names reach SQL and state names: no metacharacters even before the pipeline is known.
  stages: z.optional(
    z.array(z.string({ error: IDENTIFIER_FORM }).check(z.regex(IDENTIFIER, { error: IDENTIFIER_FORM })), {
      error: 'a list of stage names, e.g. ["summarize", "trend"]',
    }),
  ),
  sample: z.optional(z.number({ error: 'a whole number of dates, e.g. 30' })),
  seed: z.optional(z.string({ error: SEED_FORM }).check(z.regex(SEED, { error: SEED_FORM }))),
});

/** A verify input that passed every check. */
export interface VerifyRequest {
  readonly from?: IsoDate;
  readonly to?: IsoDate;
  /** The stages to verify, in pipeline order; every stage when absent. */
  readonly stages?: readonly string[];
  /** Verify this many dates drawn at random from the range. */
  readonly sample?: number;
  /** The seed of the draw (only with `sample`); a new one is drawn when absent. */
  readonly seed?: string;
}

/**
 * Validates a verify input against the schema, the pipeline's stages and `today` (dates up to
 * yesterday, a range and a sample of at most `maxDays`). Collects every problem and throws once.
 * `names` spells the fields as the entry point does (the CLI's flags); the JSON fields by default.
 */
export function parseVerifyInput(
  raw: unknown,
  pipeline: Pipeline,
  today: IsoDate,
  maxDays: number,
  names?: FieldNames,
): VerifyRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw InvalidInputError.of(
      'input',
      raw,
      'an object such as {} (the last 30 dates), {"sample": 30} or {"from": "2026-01-01", "to": "2026-01-31", "stages": ["summarize"]}',
    );
  }
  const given = new Map(Object.entries(raw));
  const problems: InputProblem[] = [];
  const stageForm = `one of ${pipeline.names.join(', ')}`;
  const n = (field: string) => fieldName(field, names);
  const problem = (field: string, value: unknown, accepted: string) =>
    problems.push({ field: n(field), value, accepted });

  const result = VerifyRequestSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problem(key, given.get(key), `only the fields ${FIELDS.map(n).join(', ')}`);
        }
        continue;
      }
      const field = issue.path.map(String).join('.');
      const [top, index] = issue.path;
      const value = index === undefined ? given.get(String(top)) : valueAt(given.get(String(top)), index);
      problem(field, value, top === 'stages' && index !== undefined ? stageForm : issue.message);
    }
  }

  const shape = VerifyRequestSchema.shape;
  const from = parsed(shape.from.safeParse(given.get('from')));
  const to = parsed(shape.to.safeParse(given.get('to')));
  const stages = parsed(shape.stages.safeParse(given.get('stages')));
  const sample = parsed(shape.sample.safeParse(given.get('sample')));
  const seed = parsed(shape.seed.safeParse(given.get('seed')));

  if (stages !== undefined) {
    if (stages.length === 0) problem('stages', stages, `at least one stage, ${stageForm}`);
    stages.forEach((stage, i) => {
      if (!pipeline.names.includes(stage)) problem(`stages.${i}`, stage, stageForm);
      else if (stages.indexOf(stage) < i) problem(`stages.${i}`, stage, 'each stage once');
    });
  }
  if (sample !== undefined && (!Number.isInteger(sample) || sample < 1 || sample > maxDays)) {
    problem('sample', sample, sampleForm(maxDays));
  }
  if (given.get('seed') !== undefined && given.get('sample') === undefined) {
    problem('seed', given.get('seed'), `a seed only with ${n('sample')} (it draws the sample)`);
  }
  problems.push(...pastRangeProblems({ from, to }, today, maxDays, 'verify covers', '', names));
  if (problems.length > 0) throw new InvalidInputError(problems);

  return {
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(stages === undefined ? {} : { stages: pipeline.names.filter((name) => stages.includes(name)) }),
    ...(sample === undefined ? {} : { sample }),
    ...(seed === undefined ? {} : { seed }),
  };
}

function parsed<T>(result: ReturnType<typeof z.safeParse<z.ZodMiniType<T>>>): T | undefined {
  return result.success ? result.data : undefined;
}

function valueAt(list: unknown, index: PropertyKey): unknown {
  return Array.isArray(list) && typeof index === 'number' ? list[index] : undefined;
}
