import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineModule, PipelineSource } from '../lib/project';
import { synthesizeWorkflowDefinitions, type WorkflowDefinitions } from '../lib/workflow-definitions';

/** Hindsight's own folder: its constructs decide what `cdk synth` produces. */
const FRAMEWORK = join(__dirname, '..');

/**
 * The synthesized workflow definitions, cached in the data directory. Synthesizing the stack
 * takes seconds; the cache is keyed by the infrastructure code, cdk.json and the shape of the
 * stage list (names and lookbacks; versions do not change the workflows), so any change to
 * what `cdk synth` would produce synthesizes again.
 */
export function cachedWorkflowDefinitions(
  dataDir: string,
  source: PipelineSource,
  module: PipelineModule,
  context: Readonly<Record<string, unknown>>,
): WorkflowDefinitions {
  const key = definitionsKey(module, context);
  const file = join(dataDir, 'workflows.json');
  if (existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as {
      key: string;
      definitions: WorkflowDefinitions;
    };
    if (cached.key === key) return cached.definitions;
  }
  const definitions = synthesizeWorkflowDefinitions({ source, pipeline: module, context });
  writeFileSync(file, JSON.stringify({ key, definitions }));
  return definitions;
}

function definitionsKey(module: PipelineModule, context: Readonly<Record<string, unknown>>): string {
  const hash = createHash('sha256');
  const { pipeline } = module;
  hash.update(JSON.stringify(pipeline.names.map((name) => [name, pipeline.inputsOf(name)])));
  hash.update(JSON.stringify(context));
  for (const file of sourceFiles(join(FRAMEWORK, 'lib'))) hash.update(file).update(readFileSync(file));
  return hash.digest('hex');
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory)
    .sort()
    .flatMap((entry) => {
      const path = join(directory, entry);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return entry.endsWith('.ts') ? [path] : [];
    });
}
