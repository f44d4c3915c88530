#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../lib/config';
import { HindsightStack } from '../lib/hindsight-stack';

const app = new App();
new HindsightStack(app, readConfig(app.node).stackName, {
  description: 'Hindsight: a daily data pipeline that can fix its own past.',
});
// Any unacknowledged AWS Solutions finding fails the synth; acknowledgments are written to the template.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
