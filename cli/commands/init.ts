/** `init`: write a new Hindsight project (a CDK app with a two-stage pipeline) into a directory. */

import { relative } from 'node:path';
import type { Command } from 'commander';
import { InvalidInputError } from '../../lambdas/engine/errors';
import type { CommandContext } from '../command-context';

export function registerInit(program: Command, ctx: CommandContext): void {
  program
    .command('init')
    .description('write a new Hindsight project into DIR: a CDK app, a two-stage pipeline, its tests and CI')
    .argument('<dir>', 'a new or empty directory')
    .option('--name <name>', "the project's npm package name (default: DIR's name)")
    .option(
      '--hindsight <spec>',
      'the npm spec the project depends on hindsight by (default: file: this copy of hindsight)',
    )
    .action(async (directory: string, options: { name?: string; hindsight?: string }) => {
      if (program.opts<{ aws?: boolean }>().aws) {
        throw InvalidInputError.of('--aws', true, 'no --aws with init: it writes files on this machine');
      }
      // The scaffold reads TypeScript (the lock): loaded only when a project is written.
      const { initProject } = await import('../project-scaffold');
      const cwd = ctx.io.cwd ?? process.cwd();
      const result = initProject({ directory, cwd, ...options });
      const fromHere = relative(cwd, result.root);
      const shown = fromHere === '' ? '.' : fromHere.startsWith('..') ? result.root : fromHere;
      ctx.io.out(
        [
          `Wrote ${result.name} into ${shown} (${result.files.length} files); it depends on hindsight ${result.hindsightSpec}.`,
          '',
          `  cd ${shown}`,
          '  npm install      # Node.js 24 comes with it, whatever the system Node',
          '  npm start        # runs the pipeline locally for the last 30 days, shows the grid',
          '',
          'Then: npm test, npx hindsight plan, npm run synth — see README.md there.',
        ].join('\n'),
      );
    });
}
