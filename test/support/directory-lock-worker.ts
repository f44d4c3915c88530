/**
 * One contender of the directory-lock stress test (test/adapters/directory-lock.test.ts), bundled
 * by esbuild and run as its own Node process, so every contender has its own pid as the CLI does.
 *
 * As a contender (`node worker.js`): on `{ type: 'try', round, lockFile }` it tries the lock once and
 * answers `{ type: 'tried', round, pid, acquired, error? }`, holding what it took until
 * `{ type: 'release' }`, answered by `{ type: 'released' }`; `{ type: 'exit' }` ends it.
 * As a crasher (`node worker.js crash <lockFile>`): takes the lock and exits without releasing it,
 * leaving the lock a killed process leaves.
 */
import { lockDirectory } from '../../lambdas/adapters/directory-lock';

type Message =
  | { readonly type: 'try'; readonly round: number; readonly lockFile: string }
  | { readonly type: 'release' }
  | { readonly type: 'exit' };

const [mode, crashLockFile] = process.argv.slice(2);
if (mode === 'crash' && crashLockFile !== undefined) {
  lockDirectory(crashLockFile, 'stress');
  process.exit(0);
}

let held: { release(): void } | undefined;
process.on('message', (message: Message) => {
  if (message.type === 'try') {
    try {
      held = lockDirectory(message.lockFile, 'stress');
      process.send?.({ type: 'tried', round: message.round, pid: process.pid, acquired: true });
    } catch (error) {
      process.send?.({
        type: 'tried',
        round: message.round,
        pid: process.pid,
        acquired: false,
        error: `${(error as Error).name}: ${(error as Error).message}`,
      });
    }
  } else if (message.type === 'release') {
    held?.release();
    held = undefined;
    process.send?.({ type: 'released' });
  } else {
    process.disconnect();
  }
});
process.send?.({ type: 'ready' });
