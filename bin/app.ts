#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { InvalidInputError } from '../lambdas/engine/errors';
import { readConfig } from '../lib/config';
import { HindsightStack } from '../lib/hindsight-stack';

const app = new App();
try {
  new HindsightStack(app, readConfig(app.node).stackName, {
    description: 'Hindsight: a daily data pipeline that can fix its own past.',
  });
} catch (error) {
  // A wrong cdk.json value is the user's to fix, not a crash: say what is wrong, no stack trace.
  if (
    !(error instanceof InvalidInputError || (error instanceof Error && error.message.startsWith('Invalid')))
  )
    throw error;
  process.stderr.write(`${error.message}\nFix cdk.json; nothing was synthesized.\n`);
  process.exit(2);
}
// Any unacknowledged AWS Solutions finding fails the synth; acknowledgments are written to the template.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
