import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { Transition } from '../../lambdas/engine/transition';
import type { WorkflowDefinitions } from '../../lib/workflow-definitions';
import { cachedWorkflowDefinitions } from '../../local/cached-definitions';
import { METERS } from './fixture-pipelines';

/**
 * The synthesized workflow definitions through the CLI's own cache (keyed by the infrastructure
 * code, cdk.json and the stage list's shape), kept under the temp directory in one folder per
 * suite so parallel suites never read each other's half-written file. Synthesis costs seconds.
 */
export function testWorkflowDefinitions(
  suite: string,
  pipeline: Pipeline,
  transitions: readonly Transition[] = [],
): WorkflowDefinitions {
  const directory = join(tmpdir(), 'hindsight-test-definitions', suite);
  mkdirSync(directory, { recursive: true });
  return cachedWorkflowDefinitions(directory, METERS, { pipeline, transitions }, {});
}
