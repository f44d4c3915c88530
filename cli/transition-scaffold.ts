import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../lambdas/engine/errors';
import { IDENTIFIER, IDENTIFIER_FORM, type Pipeline } from '../lambdas/engine/pipeline';

/** The line of the pipeline's `transitions/index.ts` above which new transitions are listed. */
export const TRANSITIONS_MARKER = '// hindsight: transitions (new ones are inserted above this line)';

/** `transitions/index.ts` as a pipeline's first transition finds it: an empty list with its marker. */
const EMPTY_TRANSITIONS_INDEX = `/**
 * The transitions: one-off per-date fixes, in id order, kept like migrations. \`hindsight transition
 * new NAME --stage STAGE\` adds one here; export this list from the pipeline module.
 */
import { defineTransitions } from 'hindsight';
import { pipeline } from '../stages';

export const transitions = defineTransitions(pipeline, [
  ${TRANSITIONS_MARKER}
]);
`;

export interface ScaffoldedTransition {
  readonly id: string;
  readonly file: string;
  readonly stage: string;
  readonly toVersion: number;
}

/**
 * Writes a ready-to-edit transition for `stage`'s next version, with the next free id, and lists
 * it in `index.ts`. Refuses a bad name or stage before writing anything.
 */
export function scaffoldTransition(
  transitionsDirectory: string,
  pipeline: Pipeline,
  name: string,
  stageName: string,
): ScaffoldedTransition {
  if (!IDENTIFIER.test(name)) throw InvalidInputError.of('name', name, IDENTIFIER_FORM);
  if (!pipeline.names.includes(stageName)) {
    throw InvalidInputError.of('--stage', stageName, `one of ${pipeline.names.join(', ')}`);
  }
  const indexFile = join(transitionsDirectory, 'index.ts');
  // A pipeline's first transition: the folder and its list start here.
  const index = existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : EMPTY_TRANSITIONS_INDEX;
  if (!index.includes(TRANSITIONS_MARKER)) {
    throw new Error(
      `${indexFile} lost its marker line "${TRANSITIONS_MARKER}"; put it back at the end of the list.`,
    );
  }
  const existing = existsSync(transitionsDirectory)
    ? readdirSync(transitionsDirectory)
        .map((file) => /^(\d{4})_([a-z0-9_]+)\.ts$/.exec(file))
        .filter((match): match is RegExpExecArray => match !== null)
    : [];
  const taken = existing.find((match) => match[2] === name);
  if (taken) throw InvalidInputError.of('name', name, `a name no transition uses yet (${taken[0]} has it)`);
  const id = `${String(Math.max(0, ...existing.map((match) => Number(match[1]))) + 1).padStart(4, '0')}_${name}`;
  const file = join(transitionsDirectory, `${id}.ts`);

  const toVersion = pipeline.stage(stageName).version + 1;
  const variable = name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
  mkdirSync(transitionsDirectory, { recursive: true });
  writeFileSync(
    file,
    `import { defineTransition } from 'hindsight';

/**
 * TODO: say what this fixes and why ${stageName} v${toVersion} needs it. Runs once per date, before the
 * date's rerun, in the rerun's order; keep it idempotent (it may be retried).
 */
export const ${variable} = defineTransition({
  id: '${id}',
  stage: '${stageName}',
  toVersion: ${toVersion},
  description: 'TODO: one sentence for the plan and the ledger.',
  // e.g. clear a column the new version no longer writes:
  //   apply: async ({ sql, date }) => {
  //     await sql.query('UPDATE some_table SET some_column = NULL WHERE day = $1::date', [date]);
  //   },
  apply: async ({ date }) => {
    throw new Error(\`Transition ${id} is not written yet (\${date}).\`);
  },
});
`,
  );
  const importLine = `import { ${variable} } from './${id}';\n`;
  const updated = index
    .replace(/(\nexport const transitions)/, `${importLine}$1`)
    .replace(TRANSITIONS_MARKER, `${variable},\n  ${TRANSITIONS_MARKER}`);
  writeFileSync(indexFile, updated);
  return { id, file, stage: stageName, toVersion };
}
