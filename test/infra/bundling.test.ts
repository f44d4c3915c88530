import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { BUNDLING } from '../../lib/functions';

/** Bundles a snippet that reads an engine error's name, as the Lambda bundles are built, and runs it. */
function errorNameAfterBundling(keepNames: boolean | undefined): string {
  const { outputFiles } = buildSync({
    stdin: {
      contents:
        "import { LeaseHeldError } from './lambdas/engine/errors'; export const name = new LeaseHeldError('arn', 'daily', 0).name;",
      resolveDir: path.join(__dirname, '..', '..'),
      loader: 'ts',
    },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: BUNDLING.target,
    minify: BUNDLING.minify,
    keepNames,
  });
  const module: { exports: { name?: unknown } } = { exports: {} };
  new Function('module', 'exports', 'require', outputFiles[0]?.text ?? '')(module, module.exports, require);
  return String(module.exports.name);
}

describe('Constant: BUNDLING', () => {
  it('keeps error class names through minification, so Retry and Catch still match LeaseHeldError', () => {
    expect(errorNameAfterBundling(BUNDLING.keepNames)).toBe('LeaseHeldError');
  });

  it('fails to keep them without keepNames (why the option is set)', () => {
    expect(errorNameAfterBundling(false)).not.toBe('LeaseHeldError');
  });
});
