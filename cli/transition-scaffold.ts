import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../lambdas/engine/errors';
import { IDENTIFIER, IDENTIFIER_FORM, type Pipeline } from '../lambdas/engine/pipeline';

/** The line of the pipeline's `transitions/index.ts` above which new transitions are listed. */
export const TRANSITIONS_MARKER = '// hindsight: transitions (new ones are inserted above this line)';

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
  const index = readFileSync(indexFile, 'utf8');
  if (!index.includes(TRANSITIONS_MARKER)) {
    throw new Error(
      `${indexFile} lost its marker line "${TRANSITIONS_MARKER}"; put it back at the end of the list.`,
    );
  }
  const used = readdirSync(transitionsDirectory)
    .map((file) => /^(\d{4})_/.exec(file)?.[1])
    .filter((number): number is string => number !== undefined)
    .map(Number);
  const id = `${String(Math.max(0, ...used) + 1).padStart(4, '0')}_${name}`;
  const file = join(transitionsDirectory, `${id}.ts`);
  if (existsSync(file)) throw InvalidInputError.of('name', name, `a name not used yet (${file} exists)`);

  const toVersion = pipeline.stage(stageName).version + 1;
  const variable = name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
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
  apply: async ({ sql, date }) => {
    // e.g. clear a column the new version no longer writes:
    // await sql.query('UPDATE some_table SET some_column = NULL WHERE day = $1::date', [date]);
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
