import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import { synthesizeWorkflowDefinitions, type WorkflowDefinitions } from '../workflow-definitions';

const REPOSITORY = join(__dirname, '..', '..');

/**
 * The synthesized workflow definitions, cached in the data directory. Synthesizing the stack
 * takes seconds; the cache is keyed by the infrastructure code, cdk.json and the shape of the
 * stage list (names and lookbacks; versions do not change the workflows), so any change to
 * what `cdk synth` would produce synthesizes again.
 */
export function cachedWorkflowDefinitions(dataDir: string, pipeline: Pipeline): WorkflowDefinitions {
  const key = definitionsKey(pipeline);
  const file = join(dataDir, 'workflows.json');
  if (existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as {
      key: string;
      definitions: WorkflowDefinitions;
    };
    if (cached.key === key) return cached.definitions;
  }
  const definitions = synthesizeWorkflowDefinitions({ pipeline });
  writeFileSync(file, JSON.stringify({ key, definitions }));
  return definitions;
}

function definitionsKey(pipeline: Pipeline): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(pipeline.stages.map((stage) => [stage.name, stage.lookbackDays])));
  hash.update(readFileSync(join(REPOSITORY, 'cdk.json')));
  for (const file of sourceFiles(join(REPOSITORY, 'lib'))) hash.update(file).update(readFileSync(file));
  return hash.digest('hex');
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory)
    .sort()
    .flatMap((entry) => {
      const path = join(directory, entry);
      if (statSync(path).isDirectory()) return entry === 'local' ? [] : sourceFiles(path);
      return entry.endsWith('.ts') ? [path] : [];
    });
}
