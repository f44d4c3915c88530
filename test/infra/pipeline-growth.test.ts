import { BACKFILL_STATES } from '../../lib/backfill-workflow';
import { DAILY_STATES } from '../../lib/daily-workflow';
import { allStates, type WorkflowDefinitions } from '../../lib/workflow-definitions';
import { runStateName } from '../../lib/workflow-states';
import { pipeline } from '../fixtures/pipelines/meters';
import {
  choicesOf,
  itemProcessorOf,
  pipelineWithSixthStage,
  resourcesOfType,
  type Synthesized,
  stateOf,
  synthesize,
} from './support';

let five: Synthesized;
let six: Synthesized;

beforeAll(() => {
  five = synthesize();
  six = synthesize({ pipeline: pipelineWithSixthStage() });
});

const taskCount = (definitions: WorkflowDefinitions, workflow: keyof WorkflowDefinitions) =>
  allStates(definitions[workflow].definition).filter(([, state]) => state.Type === 'Task').length;

/** The backfill's Choices (one "Run <Stage>?" guard per stage), by name. */
const backfillChoices = (definitions: WorkflowDefinitions) =>
  new Map(allStates(definitions.backfill.definition).filter(([, state]) => state.Type === 'Choice'));

/** The date processor's Choices: the stage guards, each with its test and where it goes. */
const stageGuards = (definitions: WorkflowDefinitions) => {
  const dateProcessor = itemProcessorOf(
    stateOf(definitions.backfill.definition, BACKFILL_STATES.backfillEachDate),
  );
  return Object.entries(dateProcessor.States)
    .filter(([, state]) => state.Type === 'Choice')
    .map(([name, state]) => ({ name, choices: choicesOf(state), otherwise: state.Default }));
};

describe('Class: HindsightStack with a sixth stage in the list', () => {
  it("uses the meters fixture's five stages by default", () => {
    expect(pipeline.names).toHaveLength(5);
    expect(stageGuards(five.definitions)).toHaveLength(5);
  });

  it('grows by exactly one function, told its stage', () => {
    const functions = (s: Synthesized) => resourcesOfType(s.json, 'AWS::Lambda::Function').length;
    expect(functions(six) - functions(five)).toBe(1);
    six.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { HINDSIGHT_STAGE: 'export_report' } },
    });
  });

  it('grows by exactly one Task per workflow, run after report', () => {
    expect(taskCount(six.definitions, 'daily') - taskCount(five.definitions, 'daily')).toBe(1);
    expect(taskCount(six.definitions, 'backfill') - taskCount(five.definitions, 'backfill')).toBe(1);
    expect(runStateName('export_report')).toBe('Run Export Report');
    const daily = six.definitions.daily.definition;
    expect(stateOf(daily, runStateName('report')).Next).toBe('Run Export Report');
    expect(stateOf(daily, 'Run Export Report').Next).toBe(DAILY_STATES.releaseLease);
    expect(six.definitions.backfill.tasks['Run Export Report']).toMatchObject({
      handler: 'stage',
      stage: 'export_report',
    });
  });

  it("grows by exactly one Choice in the backfill, the new stage's guard, after report's", () => {
    const before = backfillChoices(five.definitions);
    const after = backfillChoices(six.definitions);
    expect(after.size - before.size).toBe(1);
    expect([...after.keys()].filter((name) => !before.has(name))).toEqual(['Run Export Report?']);
    expect(stageGuards(six.definitions)).toContainEqual({
      name: 'Run Export Report?',
      choices: [{ variable: '$.prepared.runs.export_report', equals: true, next: 'Run Export Report' }],
      otherwise: BACKFILL_STATES.finishDate,
    });
    const dateProcessor = itemProcessorOf(
      stateOf(six.definitions.backfill.definition, BACKFILL_STATES.backfillEachDate),
    );
    expect(stateOf(dateProcessor, 'Run Report?').Default).toBe('Run Export Report?');
    expect(stateOf(dateProcessor, runStateName('report')).Next).toBe('Run Export Report?');
    expect(stateOf(dateProcessor, 'Run Export Report').Next).toBe(BACKFILL_STATES.finishDate);
  });
});
