/**
 * A throwaway project whose cdk.json names a fixture pipeline, as a team's project names its own:
 * the CLI run there (`cwd`) works on that pipeline, whatever `pipeline/` of this repository holds.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineSource } from '../../lib/project';
import { METERS } from './fixture-pipelines';

/** Writes the project (a folder with only a cdk.json) and returns its path. */
export function fixtureProject(
  source: PipelineSource = METERS,
  context: Readonly<Record<string, unknown>> = {},
): string {
  const root = mkdtempSync(join(tmpdir(), 'hindsight-project-'));
  const cdkJson = {
    context: {
      'hindsight:pipeline': source.entry,
      'hindsight:migrations': source.migrationsDirectory,
      ...context,
    },
  };
  writeFileSync(join(root, 'cdk.json'), `${JSON.stringify(cdkJson, null, 2)}\n`);
  return root;
}
