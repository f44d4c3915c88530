import { dirname, resolve } from 'node:path';
import type { PipelineParams } from '../lambdas/engine/stage';
import { BACKFILL_STATES } from '../lib/backfill-states';
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
import type { LocalServices } from '../local/local-services';
import type { LocalWorkflows, TaskEvent } from '../local/local-workflows';
import type { CommandProgress, StatusPublisher } from '../local/status-snapshot';

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
  /** The command line, as `status` from another shell shows it while this command runs. */
  readonly invokedAs?: string;
}

/** The pipeline a command works with, and where it came from. */
export interface ProjectPipeline extends PipelineModule {
  readonly project: Project;
  readonly source: PipelineSource;
}

/** An open data directory: services, and the workflows over them. */
export interface Session {
  readonly services: LocalServices;
  /**
   * The daily and backfill workflows, made on first use: only commands that start executions need
   * the definitions (synthesized from the CDK constructs unless cached) and the interpreter.
   */
  workflows(): Promise<LocalWorkflows>;
  /** Publishes the command's progress for `status` from another shell. */
  progress(update: CommandProgress): void;
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

/** Opens the data directory (after the command has validated its input); the workflows come on first use. */
export async function openSession(
  options: GlobalOptions,
  pipeline: ProjectPipeline,
  onTask?: (event: TaskEvent) => void,
  /** Told what takes time before anything is printed (a line per step), e.g. on a terminal. */
  notify?: (line: string) => void,
): Promise<Session> {
  const notices = notify === undefined ? undefined : new SlowStepNotices(notify);
  // Said before loading PGlite's module, which alone takes half a second.
  notices?.step(`opening the data directory ${options.dataDir}`);
  // Loaded here, not at the top: `--help` and the commands that never open a data directory stay light.
  const { openLocalServices } = await import('../local/local-services');
  const { StatusPublisher } = await import('../local/status-snapshot');
  const publisher = new StatusPublisher(options.invokedAs ?? 'hindsight');
  const phase = (text: string) => {
    publisher.progress({ phase: text });
    notices?.step(text);
  };
  const { hindsightCacheDirectory } = await import('../local/cache-directory');
  const cache = hindsightCacheDirectory(pipeline.project.root);
  const services = await openLocalServices({
    onLocked: (dataDir) => publisher.announce(dataDir),
    onPhase: phase,
    ...(cache === undefined ? {} : { cacheDirectory: cache }),
    // The lease table starts when the lease is used: `plan` and a `status` from a snapshot never load dynalite.
    leaseTable: 'on first use',
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
    await publisher.attach({
      sql: services.deps.sql,
      readLease: async () => (await services.leaseStore.read()) ?? null,
      leaseStoreOpen: () => services.leaseTableStarted(),
    });
  } catch (error) {
    notices?.end();
    await services.close();
    throw error;
  }
  notices?.end();
  let workflows: Promise<LocalWorkflows> | undefined;
  const previousTask: { state?: string } = {};
  const createWorkflows = async (): Promise<LocalWorkflows> => {
    phase('loading the workflows');
    const { cachedWorkflowDefinitions } = await import('../local/cached-definitions');
    const { LocalWorkflows } = await import('../local/local-workflows');
    const definitions = cachedWorkflowDefinitions(
      cache ?? services.dataDir,
      pipeline.source,
      pipeline,
      pipeline.project.context,
      () =>
        phase('synthesizing the workflow definitions from the CDK stack (once per change of the stage list)'),
    );
    try {
      return await LocalWorkflows.create(services, definitions, {
        pauseMs: 500,
        ...(onTask ? { onTask } : {}),
        beforeTask: (event) => publishTask(publisher, event, previousTask),
      });
    } finally {
      publisher.progress({ phase: undefined });
      notices?.end();
    }
  };
  return {
    services,
    workflows: () => {
      workflows ??= createWorkflows();
      return workflows;
    },
    progress: (update) => {
      publisher.advance(update).catch(() => undefined);
    },
    close: async () => {
      await publisher.beforeClose();
      await services.close();
      publisher.afterClose();
    },
  };
}

/**
 * Before each Task: what the steps before it committed is published (at most about once a
 * second), then the date and stage it runs. A stage's Task names it (`Run Summarize`).
 */
async function publishTask(
  publisher: StatusPublisher,
  event: TaskEvent,
  previous: { state?: string },
): Promise<void> {
  // After a lease step (`Acquire Lease`, `Release Lease`), at once: `status` shows who holds it.
  const afterLease = previous.state?.includes('Lease') ?? false;
  previous.state = event.state;
  await publisher.refresh(afterLease).catch(() => undefined);
  const input = event.input as { date?: unknown; position?: unknown } | null;
  const date = typeof input?.date === 'string' ? input.date : undefined;
  if (event.state.startsWith('Run ') && date !== undefined) {
    publisher.touch(date);
    publisher.progress({ date, stage: event.state.slice(4).toLowerCase() });
  } else if (event.state === BACKFILL_STATES.prepareDate && typeof input?.position === 'number') {
    await publisher.advance({ done: input.position, date: undefined, stage: undefined });
  }
}

/**
 * A line per slow step (`Opening the database…`), and while one step lasts, a line every second
 * saying so: a first command (which creates the database) is never silent for long on a terminal.
 */
class SlowStepNotices {
  private current: { text: string; since: number } | undefined;
  private lastLine = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly notify: (line: string) => void) {}

  step(text: string): void {
    this.current = { text, since: Date.now() };
    this.say(`${text[0].toUpperCase()}${text.slice(1)}…`);
    this.timer ??= setInterval(() => this.tick(), 250).unref();
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.current = undefined;
  }

  private tick(): void {
    if (this.current === undefined || Date.now() - this.lastLine < 900) return;
    this.say(`  still ${this.current.text} (${((Date.now() - this.current.since) / 1000).toFixed(0)} s)`);
  }

  private say(line: string): void {
    this.lastLine = Date.now();
    this.notify(line);
  }
}
