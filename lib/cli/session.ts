import { resolve } from 'node:path';
import { InvalidInputError } from '../../lambdas/engine/errors';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import { DEFAULT_PIPELINE_PARAMS, type PipelineParams } from '../../lambdas/engine/stage';
import type { Transition } from '../../lambdas/engine/transition';
import { pipeline as repositoryPipeline } from '../../lambdas/stages';
import { readRepositoryConfig } from '../config';
import { cachedWorkflowDefinitions } from '../local/cached-definitions';
import { type LocalServices, openLocalServices } from '../local/local-services';
import { LocalWorkflows, type TaskEvent } from '../local/local-workflows';

/** The options every command shares. */
export interface GlobalOptions {
  readonly dataDir: string;
  readonly databaseUrl?: string;
  /** A module exporting `pipeline` to use instead of lambdas/stages (a rehearsal of a change). */
  readonly stages?: string;
  readonly rowsPerDay?: string;
}

/** An open data directory: services, and the workflows over them. */
export interface Session {
  readonly services: LocalServices;
  readonly workflows: LocalWorkflows;
  close(): Promise<void>;
}

/** The ordered stage list the command works with: the repository's, or the `--stages` module's. */
export function loadPipeline(options: GlobalOptions): Pipeline {
  if (options.stages === undefined) return repositoryPipeline;
  const path = resolve(options.stages);
  let loaded: unknown;
  try {
    loaded = require(path);
  } catch (error) {
    throw InvalidInputError.of(
      '--stages',
      options.stages,
      `a module that exports \`pipeline\` (${(error as Error).message})`,
    );
  }
  const candidate =
    loaded !== null && typeof loaded === 'object' && 'pipeline' in loaded ? loaded.pipeline : undefined;
  if (!isPipeline(candidate)) {
    throw InvalidInputError.of(
      '--stages',
      options.stages,
      'a module that exports `pipeline` built with definePipeline',
    );
  }
  return candidate;
}

/**
 * The transitions that go with `--stages`: its module's `transitions` export, or none. Without
 * `--stages`, the repository's list (the local services' default).
 */
export function loadTransitions(options: GlobalOptions): readonly Transition[] | undefined {
  if (options.stages === undefined) return undefined;
  const loaded: unknown = require(resolve(options.stages));
  const transitions =
    loaded !== null && typeof loaded === 'object' && 'transitions' in loaded ? loaded.transitions : undefined;
  return Array.isArray(transitions) ? transitions : [];
}

function isPipeline(value: unknown): value is Pipeline {
  return value !== null && typeof value === 'object' && 'stages' in value && 'codeLineage' in value;
}

export function pipelineParams(options: GlobalOptions): PipelineParams {
  if (options.rowsPerDay === undefined) return DEFAULT_PIPELINE_PARAMS;
  const rows = Number(options.rowsPerDay);
  if (!Number.isInteger(rows) || rows < 1 || rows > 10_000_000) {
    throw InvalidInputError.of('--rows-per-day', options.rowsPerDay, 'a whole number from 1 to 10000000');
  }
  return { rowsPerDay: rows };
}

function definedTransitions(transitions: readonly Transition[] | undefined) {
  return transitions === undefined ? {} : { transitions };
}

/** Opens the data directory (after the command has validated its input) and the local workflows. */
export async function openSession(
  options: GlobalOptions,
  pipeline: Pipeline,
  onTask?: (event: TaskEvent) => void,
): Promise<Session> {
  const services = await openLocalServices({
    dataDir: options.dataDir,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    pipeline,
    params: pipelineParams(options),
    maxBackfillDays: readRepositoryConfig().maxBackfillDays,
    ...definedTransitions(loadTransitions(options)),
  });
  try {
    const definitions = cachedWorkflowDefinitions(services.dataDir, pipeline);
    const workflows = await LocalWorkflows.create(services, definitions, {
      pauseMs: 500,
      ...(onTask ? { onTask } : {}),
    });
    return { services, workflows, close: () => services.close() };
  } catch (error) {
    await services.close();
    throw error;
  }
}
