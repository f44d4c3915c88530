/** `lock`: the version guard — record, check or accept each stage's code fingerprint. */

import { dirname, join, relative } from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { RunFailedError } from '../io';

export function registerLock(program: Command, ctx: CommandContext): void {
  program
    .command('lock')
    .description(
      "record each stage's version and code fingerprint in hindsight.lock.json (the version guard)",
    )
    .option('--check', "fail when a stage's code changed without a version bump, or the lock is out of date")
    .option(
      '--accept <stage>',
      "accept a stage's code change as non-breaking (a refactor: nothing to rebuild)",
    )
    .action(async (options: { check?: boolean; accept?: string }) => {
      ctx.localOnly('lock', 'the version guard checks the code in this checkout');
      ctx.projectPipelineOnly('lock', "the lock records the project's pipeline (hindsight:pipeline)");
      // The version guard parses stage code with the TypeScript compiler: loaded for this command only.
      const {
        acceptStage,
        checkLock,
        computeLock,
        formatFindings,
        LOCK_FILE_NAME,
        lockVerdict,
        readLockFile,
        updateLock,
        writeLockFile,
      } = await import('../version-guard');
      const loaded = ctx.load();
      const { pipeline } = loaded;
      const root = loaded.project.root;
      const path = join(root, LOCK_FILE_NAME);
      const recorded = readLockFile(path);
      const stagesDirectory = relative(root, join(dirname(loaded.source.entry), 'stages'));
      const current = computeLock(pipeline, { root, stagesDirectory });
      if (options.accept !== undefined) {
        writeLockFile(
          path,
          acceptStage(recorded ?? { lockfileVersion: 1, stages: {} }, current, options.accept),
        );
        ctx.io.out(
          `Accepted ${options.accept}'s change as non-breaking: nothing to rebuild. Commit ${LOCK_FILE_NAME}.`,
        );
        return;
      }
      const findings = checkLock(current, recorded);
      const verdict = lockVerdict(findings);
      if (options.check) {
        if (verdict === 'ok') {
          ctx.io.out(`${LOCK_FILE_NAME} matches every stage's code and version.`);
          return;
        }
        throw new RunFailedError(formatFindings(findings));
      }
      writeLockFile(path, updateLock(recorded, current));
      ctx.io.out(
        verdict === 'ok'
          ? `${LOCK_FILE_NAME} was already up to date.`
          : `${formatFindings(findings)}\nRecorded in ${LOCK_FILE_NAME}; commit it.`,
      );
    });
}
