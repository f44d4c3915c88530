/**
 * The README is tested: every command it gives is run by the walk-through (or is one of the few in
 * NOT_RUN, with the reason), and every transcript it shows is what those commands print today.
 * When a command's wording changes, `npm run -s readme` rewrites the transcripts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readmeCommands } from './readme-commands';
import { REPOSITORY } from './readme-projects';
import {
  commandsNotRun,
  firstDifference,
  readmeRegions,
  regionText,
  staleExceptions,
} from './readme-regions';
import type { Transcripts } from './walk';
import { walkThroughReadme } from './walkthrough';

const readme = readFileSync(join(REPOSITORY, 'README.md'), 'utf8');
let transcripts: Transcripts;

// About 25 CLI processes, two of them the first command on a new data directory: a guard against a
// hang, longer than jest's default, not a speed check.
const WALK_TIMEOUT_MS = 30 * 60_000;

beforeAll(async () => {
  transcripts = await walkThroughReadme();
}, WALK_TIMEOUT_MS);

describe('README.md', () => {
  it('shows, in every transcript, what its commands print (else: npm run -s readme)', () => {
    // Assess
    const shown = readmeRegions(readme);
    const generated = transcripts.regions();
    const stale = [...new Set([...shown.keys(), ...generated.keys()])].flatMap((name) => {
      const inReadme = shown.get(name);
      const fromRun = generated.get(name);
      if (inReadme === undefined) return [`${name}: a transcript no README region shows`];
      if (fromRun === undefined) return [`${name}: a README region no walk writes`];
      const expected = regionText(fromRun);
      return inReadme === expected ? [] : [`${name}: ${firstDifference(inReadme, expected)}`];
    });
    if (stale.length > 0) {
      throw new Error(
        `README.md's transcripts differ from what the commands print now. Run \`npm run -s readme\` ` +
          `and review the diff of README.md.\n\n${stale.join('\n\n')}`,
      );
    }
  });

  it('gives no command that the walk-through does not run, but for the few that cannot run here', () => {
    // Assess
    const commands = readmeCommands(readme);
    expect(commandsNotRun(commands, transcripts.commands)).toEqual([]);
    expect(staleExceptions(commands)).toEqual([]);
  });
});
