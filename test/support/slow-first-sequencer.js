const Sequencer = require('@jest/test-sequencer').default;
const { relative } = require('node:path');

/**
 * The suites that take minutes, started first. Jest orders by the durations of earlier runs, and
 * without them (a fresh clone: CI) by file size, which put these small files last: on two workers
 * one of them then ran alone for minutes at the end while the other had nothing left to do.
 */
const SLOW_FIRST = [
  'test/readme/readme.test.ts',
  'test/newcomer/newcomer-path.test.ts',
  'test/integration/graph-scenarios.test.ts',
  'test/integration/cli.test.ts',
  'test/integration/verify-cli.test.ts',
  'pipeline/test/change-scenario.test.ts',
  'test/infra/nag.test.ts',
];

class SlowFirstSequencer extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    const rank = (test) => {
      const index = SLOW_FIRST.indexOf(
        relative(test.context.config.rootDir, test.path).split('\\').join('/'),
      );
      return index === -1 ? SLOW_FIRST.length : index;
    };
    // Array.prototype.sort is stable: the rest keep jest's own order.
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = SlowFirstSequencer;
