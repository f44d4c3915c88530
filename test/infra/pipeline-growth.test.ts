import { BACKFILL_STATES } from '../../lib/backfill-workflow';
import { DAILY_STATES } from '../../lib/daily-workflow';
import { allStates, type WorkflowDefinitions } from '../../lib/workflow-definitions';
import { runStateName } from '../../lib/workflow-states';
import { pipeline } from '../fixtures/pipelines/meters';
import {
  choicesOf,
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

const startAtWhichStage = (definitions: WorkflowDefinitions) => {
  const [, choice] = allStates(definitions.backfill.definition).find(
    ([name]) => name === BACKFILL_STATES.startAtWhichStage,
  ) ?? ['', { Type: 'missing' }];
  return choicesOf(choice);
};

describe('Class: HindsightStack with a sixth stage in the list', () => {
  it("uses the meters fixture's five stages by default", () => {
    expect(pipeline.names).toHaveLength(5);
    expect(startAtWhichStage(five.definitions)).toHaveLength(5);
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

  it('grows by exactly one "Start At Which Stage?" branch, entering at the new Task', () => {
    const before = startAtWhichStage(five.definitions);
    const after = startAtWhichStage(six.definitions);
    expect(after).toEqual([
      ...before,
      { variable: '$.prepared.startStage', equals: 'export_report', next: 'Run Export Report' },
    ]);
  });
});
