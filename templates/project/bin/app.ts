#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { InvalidInputError } from 'hindsight';
import { HindsightStack, readConfig } from 'hindsight/cdk';

const app = new App();
try {
  // Everything comes from cdk.json: the pipeline (hindsight:pipeline), its migrations, the schedule.
  new HindsightStack(app, readConfig(app.node).stackName, {
    description: '{{name}}: a Hindsight daily pipeline.',
  });
} catch (error) {
  // A wrong cdk.json value is yours to fix, not a crash: say what is wrong, no stack trace.
  if (!(error instanceof InvalidInputError)) throw error;
  process.stderr.write(`${error.message}\nFix cdk.json; nothing was synthesized.\n`);
  process.exit(2);
}
// Any unacknowledged AWS Solutions finding fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
