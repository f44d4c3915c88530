import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { extname, join } from 'node:path';
import type { PipelineModule, PipelineSource } from '../lib/project';
import type { WorkflowDefinitions } from '../lib/workflow-definitions';

/** Hindsight's own folder: its constructs decide what `cdk synth` produces. */
const FRAMEWORK = join(__dirname, '..');

/**
 * The constructs' files are what this file is: `.ts` when run from the sources (jest, tsx), `.js`
 * when run from the compiled `dist/`.
 */
const SOURCE_EXTENSION = extname(__filename);

/** Definitions kept per cache directory: one per stage-list shape tried recently (e.g. `--stages` rehearsals). */
const KEEP = 8;

/**
 * The synthesized workflow definitions, cached in `directory`. Synthesizing the stack takes
 * seconds; the cache is keyed by the infrastructure code, cdk.json and the shape of the stage list
 * (names and lookbacks; versions do not change the workflows), so any change to what `cdk synth`
 * would produce synthesizes again. One file per key, written whole (temporary file, then rename),
 * so processes sharing the directory never read half a file.
 */
export function cachedWorkflowDefinitions(
  directory: string,
  source: PipelineSource,
  module: PipelineModule,
  context: Readonly<Record<string, unknown>>,
  /** Called before synthesizing (seconds), when nothing cached fits. */
  onSynthesize?: () => void,
): WorkflowDefinitions {
  const key = definitionsKey(module, context);
  const file = join(directory, `workflows-${key.slice(0, 32)}.json`);
  const cached = readCached(file, key);
  if (cached !== undefined) return cached;
  onSynthesize?.();
  // aws-cdk-lib is loaded only here, when nothing cached fits: seconds otherwise saved.
  const { synthesizeWorkflowDefinitions } =
    require('../lib/workflow-definitions') as typeof import('../lib/workflow-definitions');
  const definitions = synthesizeWorkflowDefinitions({ source, pipeline: module, context });
  mkdirSync(directory, { recursive: true });
  const draft = `${file}.${process.pid}.tmp`;
  writeFileSync(draft, JSON.stringify({ key, definitions }));
  renameSync(draft, file);
  prune(directory);
  return definitions;
}

function readCached(file: string, key: string): WorkflowDefinitions | undefined {
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as {
      key: string;
      definitions: WorkflowDefinitions;
    };
    return cached.key === key ? cached.definitions : undefined;
  } catch {
    return undefined; // absent, or unreadable: synthesized again and rewritten
  }
}

/** Removes all but the most recently written definitions files. */
function prune(directory: string): void {
  const files = readdirSync(directory)
    .filter((name) => /^workflows-[0-9a-f]+\.json$/.test(name))
    .map((name) => ({ path: join(directory, name), mtime: statSync(join(directory, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { path } of files.slice(KEEP)) {
    try {
      unlinkSync(path);
    } catch {
      // another process pruned it first
    }
  }
}

function definitionsKey(module: PipelineModule, context: Readonly<Record<string, unknown>>): string {
  const hash = createHash('sha256');
  const { pipeline } = module;
  hash.update(JSON.stringify(pipeline.names.map((name) => [name, pipeline.inputsOf(name)])));
  hash.update(JSON.stringify(context));
  const lib = join(FRAMEWORK, 'lib');
  for (const file of sourceFiles(lib)) hash.update(file.slice(lib.length)).update(readFileSync(file));
  return hash.digest('hex');
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory)
    .sort()
    .flatMap((entry) => {
      const path = join(directory, entry);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return entry.endsWith(SOURCE_EXTENSION) && !entry.endsWith(`.d${SOURCE_EXTENSION}`) ? [path] : [];
    });
}
