/** `hindsight --version`: the version of the package this CLI is part of. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The `version` of the nearest package.json named `hindsight` above this file: the repository's
 * from the sources (cli/), the installed package's from dist/cli/.
 */
export function packageVersion(): string {
  for (let directory = __dirname; ; directory = dirname(directory)) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (manifest.name === 'hindsight' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // No package.json here (or not readable): look further up.
    }
    if (dirname(directory) === directory) return 'unknown';
  }
}
