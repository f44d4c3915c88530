/**
 * `npm run -s readme`: walks through the README (test/readme/walkthrough.ts) and rewrites its
 * transcript regions from what the commands printed. Run it after changing what a command says;
 * test/readme/readme.test.ts fails until it has been run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readmeCommands } from './readme-commands';
import { REPOSITORY } from './readme-projects';
import { commandsNotRun, rewriteRegions } from './readme-regions';
import { walkThroughReadme } from './walkthrough';

async function main(): Promise<void> {
  const file = join(REPOSITORY, 'README.md');
  const started = Date.now();
  const transcripts = await walkThroughReadme((line) => process.stderr.write(`  ${line}\n`));
  const readme = readFileSync(file, 'utf8');
  const updated = rewriteRegions(readme, transcripts.regions());
  if (updated !== readme) writeFileSync(file, updated);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  process.stdout.write(
    `${updated === readme ? 'README.md is up to date' : 'Rewrote README.md'}: ` +
      `${transcripts.regions().size} transcripts from ${transcripts.commands.size} commands run (${seconds} s).\n`,
  );
  const notRun = commandsNotRun(readmeCommands(updated), transcripts.commands);
  if (notRun.length > 0) {
    process.stderr.write(
      `README commands the walk-through does not run (add them to test/readme/walkthrough.ts):\n${notRun
        .map((command) => `  ${command}`)
        .join('\n')}\n`,
    );
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
