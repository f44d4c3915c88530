import * as z from 'zod/mini';
import type { $ZodType } from 'zod/v4/core';
import { DATE_FORM, dateProblem } from './dates';
import { cut, type FieldNames, fieldName, type InputProblem, InvalidInputError } from './errors';
import { IDENTIFIER, IDENTIFIER_FORM } from './pipeline';

/**
 * The shared pieces of every input schema (zod's tree-shakable `zod/mini` API: the Lambda bundles
 * carry only the checks they use). Each zod check carries, as its message, the
 * *accepted form*; `parseInput` turns zod's issues into one InvalidInputError that names
 * the field, the value received and that accepted form — the same words for a console
 * input, a handler payload and a CLI flag.
 */
export { DATE_FORM } from './dates';

/** A date: a real calendar date written as YYYY-MM-DD, in 1900 or later (the refusal says which rule failed). */
export const isoDate = z.string({ error: DATE_FORM }).check((ctx) => {
  const problem = dateProblem(ctx.value);
  if (problem !== null) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
});

export const identifier = z
  .string({ error: IDENTIFIER_FORM })
  .check(z.regex(IDENTIFIER, { error: IDENTIFIER_FORM }));

/** A stage name: one of the pipeline's, listed in the message. */
export function stageName(names: readonly string[]) {
  const accepted = `one of ${names.join(', ')}`;
  return z.string({ error: accepted }).check(z.refine((value) => names.includes(value), { error: accepted }));
}

/** Execution ids and ARNs: printable, no quotes, no shell or SQL metacharacters. */
export const executionId = z
  .string({ error: 'an execution id or ARN (letters, digits and : / _ . - only, at most 256)' })
  .check(
    z.regex(/^[A-Za-z0-9:/_.-]{1,256}$/, {
      error: 'an execution id or ARN (letters, digits and : / _ . - only, at most 256)',
    }),
  );

export const fenceToken = z
  .int({ error: 'a whole number from 0 (the lease token)' })
  .check(z.minimum(0, { error: 'a whole number from 0 (the lease token)' }));

/**
 * Parses `raw` with `schema` or throws one InvalidInputError listing every problem. `names` spells
 * the fields as the entry point does (a CLI's flags); a field's path is otherwise named as is.
 */
export function parseInput<T>(schema: $ZodType<T>, raw: unknown, prefix = '', names?: FieldNames): T {
  const result = z.safeParse(schema, raw);
  if (result.success) return result.data;
  const problems: InputProblem[] = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const field = [...issue.path, issue.keys[0]].join('.');
      return {
        field: fieldName(prefix + field, names),
        value: valueAt(raw, [...issue.path, issue.keys[0]]),
        accepted: `no field named ${cut(String(issue.keys[0]))} (remove it)`,
      };
    }
    const field = issue.path.length > 0 ? issue.path.join('.') : prefix === '' ? 'input' : '';
    return {
      field: fieldName(prefix + field, names),
      value: valueAt(raw, issue.path),
      accepted: issue.message,
    };
  });
  throw new InvalidInputError(problems);
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = raw;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
