/**
 * The README's generated regions and the commands it may give without the walk-through running
 * them. A region is
 *
 *     <!-- transcript: NAME -->
 *     ```text
 *     $ npx hindsight …
 *     …what it printed…
 *     ```
 *     <!-- /transcript -->
 *
 * and everything between the two markers is written by `npm run -s readme` from the walk-through.
 */

const REGION = /(<!-- transcript: ([\w-]+) -->\n)([\s\S]*?)(<!-- \/transcript -->)/g;

/**
 * Commands of the README that no test can run here, and why. Keep it short: a command that can
 * run belongs in the walk-through (test/readme/walkthrough.ts).
 */
export const NOT_RUN: Readonly<Record<string, string>> = {
  'npm ci': 'installs the dependencies; the walk-through runs in a checkout where that was done',
  'npm test': 'the test suite this check is part of',
  'npm run synth':
    'cdk synth with every Lambda bundled (minutes); test/infra synthesizes the same app and bundles',
  'npx cdk deploy': 'needs an AWS account',
  // "Start your own": run, on a packed tarball, by test/newcomer/newcomer-path.test.ts.
  'npx hindsight init ../my-pipeline': 'run by test/newcomer/newcomer-path.test.ts (init, install, start)',
  'cd ../my-pipeline': 'run by test/newcomer/newcomer-path.test.ts',
  'npm install': 'run by test/newcomer/newcomer-path.test.ts',
  'rm -rf .pipeline': 'deletes the example\'s data, in "Make it yours" (starting a pipeline of one\'s own)',
  'rm hindsight.lock.json': 'in "Make it yours", once the example is replaced by your own stages',
};

/** The regions' names and current text, in README order. */
export function readmeRegions(readme: string): Map<string, string> {
  const regions = new Map<string, string>();
  for (const match of readme.matchAll(REGION)) regions.set(match[2] ?? '', match[3] ?? '');
  return regions;
}

/** A region's text: its transcript as a `text` block. */
export function regionText(transcript: string): string {
  return `\`\`\`text\n${transcript}\n\`\`\`\n`;
}

/**
 * The README with every region rewritten from `transcripts`. Refuses a region no walk wrote, and a
 * transcript no region shows, so neither can be forgotten.
 */
export function rewriteRegions(readme: string, transcripts: ReadonlyMap<string, string>): string {
  const names = [...readmeRegions(readme).keys()];
  const unwritten = names.filter((name) => !transcripts.has(name));
  const unshown = [...transcripts.keys()].filter((name) => !names.includes(name));
  if (unwritten.length > 0 || unshown.length > 0) {
    throw new Error(
      [
        unwritten.length > 0 ? `README regions no walk writes: ${unwritten.join(', ')}` : '',
        unshown.length > 0 ? `transcripts no README region shows: ${unshown.join(', ')}` : '',
        'Add the <!-- transcript: NAME --> region to README.md, or show: NAME to the command in test/readme/walkthrough.ts.',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }
  return readme.replace(
    REGION,
    (_all, open: string, name: string, _text: string, close: string) =>
      `${open}${regionText(transcripts.get(name) ?? '')}${close}`,
  );
}

/** README commands the walk-through did not run and that are not in NOT_RUN. */
export function commandsNotRun(readmeCommands: readonly string[], run: ReadonlySet<string>): string[] {
  return [...new Set(readmeCommands)].filter((command) => !run.has(command) && !(command in NOT_RUN));
}

/** NOT_RUN entries the README no longer gives: the list stays as short as the README needs. */
export function staleExceptions(readmeCommands: readonly string[]): string[] {
  return Object.keys(NOT_RUN).filter((command) => !readmeCommands.includes(command));
}

/** The first lines where two texts differ, for a failure message that says where to look. */
export function firstDifference(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      return [
        `line ${i + 1}:`,
        `  README.md:     ${a[i] ?? '(no line)'}`,
        `  walk-through:  ${b[i] ?? '(no line)'}`,
      ].join('\n');
    }
  }
  return 'no difference';
}
