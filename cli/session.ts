import { dirname, resolve } from 'node:path';
import type { PipelineParams } from '../lambdas/engine/stage';
import { parseParamOption, readProjectConfig } from '../lib/config';
import {
  findProject,
  loadPipelineModule,
  PIPELINE_KEYS,
  type PipelineModule,
  type PipelineSource,
  type Project,
  pipelineSource,
} from '../lib/project';
import { cachedWorkflowDefinitions } from '../local/cached-definitions';
import { type LocalServices, openLocalServices } from '../local/local-services';
import { LocalWorkflows, type TaskEvent } from '../local/local-workflows';

/** The options every command shares. */
export interface GlobalOptions {
  readonly dataDir: string;
  readonly databaseUrl?: string;
  /** Where `databaseUrl` came from, for messages: `--database-url` (the default) or `DATABASE_URL`. */
  readonly databaseUrlName?: string;
  /** A module exporting `pipeline` to use instead of `hindsight:pipeline` (a rehearsal of a change). */
  readonly stages?: string;
  /** `--param NAME=VALUE`, repeated: the pipeline's parameters, over `hindsight:params`. */
  readonly param?: readonly string[];
}

/** The pipeline a command works with, and where it came from. */
export interface ProjectPipeline extends PipelineModule {
  readonly project: Project;
  readonly source: PipelineSource;
}

/** An open data directory: services, and the workflows over them. */
export interface Session {
  readonly services: LocalServices;
  readonly workflows: LocalWorkflows;
  close(): Promise<void>;
}

/**
 * The pipeline of the project around the current directory: the module `hindsight:pipeline`
 * names in its cdk.json, or the `--stages` module instead (its migrations stay the project's).
 */
export function loadPipeline(options: GlobalOptions, cwd: string = process.cwd()): ProjectPipeline {
  const project = findProject(cwd);
  if (options.stages === undefined) {
    const source = pipelineSource((key) => project.context[key], project.root);
    const shown = String(project.context[PIPELINE_KEYS.pipeline]);
    return { ...loadPipelineModule(source.entry, PIPELINE_KEYS.pipeline, shown), project, source };
  }
  const entry = resolve(cwd, options.stages);
  const module = loadPipelineModule(entry, '--stages', options.stages);
  // --stages replaces the module only: the migrations stay the project's.
  const source = pipelineSource(
    (key) => (key === PIPELINE_KEYS.pipeline ? entry : project.context[key]),
    project.root,
  );
  return { ...module, project, source };
}

/** Where the pipeline's transitions are written by `transition new`: `transitions/` beside its module. */
export function transitionsDirectory(pipeline: ProjectPipeline): string {
  return resolve(dirname(pipeline.source.entry), 'transitions');
}

/** The pipeline's parameters: `hindsight:params` of cdk.json, then each `--param` over it. */
export function pipelineParams(options: GlobalOptions, project: Project): PipelineParams {
  const params: Record<string, string> = { ...readProjectConfig(project).params };
  for (const option of options.param ?? []) {
    const [name, value] = parseParamOption(option);
    params[name] = value;
  }
  return params;
}

/** Opens the data directory (after the command has validated its input) and the local workflows. */
export async function openSession(
  options: GlobalOptions,
  pipeline: ProjectPipeline,
  onTask?: (event: TaskEvent) => void,
): Promise<Session> {
  const services = await openLocalServices({
    dataDir: options.dataDir,
    ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
    ...(options.databaseUrlName === undefined ? {} : { databaseUrlName: options.databaseUrlName }),
    pipeline: pipeline.pipeline,
    transitions: pipeline.transitions,
    migrationsDirectory: pipeline.source.migrationsDirectory,
    params: pipelineParams(options, pipeline.project),
    maxBackfillDays: readProjectConfig(pipeline.project).maxBackfillDays,
  });
  try {
    const definitions = cachedWorkflowDefinitions(
      services.dataDir,
      pipeline.source,
      pipeline,
      pipeline.project.context,
    );
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
