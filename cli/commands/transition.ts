/** `transition new`: scaffold a one-off per-date fix for a stage's next version. */

import { join, relative } from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { transitionsDirectory } from '../session';
import { scaffoldTransition } from '../transition-scaffold';

export function registerTransition(program: Command, ctx: CommandContext): void {
  const transition = program
    .command('transition')
    .description('one-off per-date fixes, kept like migrations');
  transition
    .command('new')
    .description("write a ready-to-edit transition for a stage's next version and list it")
    .argument('<name>', 'lower_snake_case name, e.g. clear_scores')
    .requiredOption('--stage <stage>', 'the stage whose next version needs the fix')
    .action((name: string, options: { stage: string }) => {
      ctx.localOnly('transition new', 'it writes a file in this checkout');
      ctx.projectPipelineOnly(
        'transition new',
        "it writes into the transitions/ beside hindsight:pipeline's module",
      );
      const loaded = ctx.load();
      const { pipeline } = loaded;
      const directory = transitionsDirectory(loaded);
      const created = scaffoldTransition(directory, pipeline, name, options.stage);
      ctx.io.out(
        `Wrote ${relative(loaded.project.root, created.file)} and listed it in ` +
          `${relative(loaded.project.root, join(directory, 'index.ts'))}.\n` +
          `Fill in apply(), then bump ${created.stage} to version ${created.toVersion}: the next backfill ` +
          `applies ${created.id} to every date it reruns from ${created.stage}, once per date.`,
      );
      if (!exportsTransitions(loaded.source.entry)) {
        const module = relative(loaded.project.root, loaded.source.entry);
        ctx.io.out(
          `Note: ${module} exports no \`transitions\`, so no backfill would apply it. Add to ${module}:\n` +
            `  export { transitions } from './transitions';`,
        );
      }
    });
}

/** Whether the pipeline module exports its transitions list (the backfill applies only those). */
function exportsTransitions(entry: string): boolean {
  const loaded: unknown = require(entry);
  return loaded !== null && typeof loaded === 'object' && 'transitions' in loaded;
}
