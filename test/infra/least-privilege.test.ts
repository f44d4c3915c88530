import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { readConfig } from '../../lib/config';
import { logicalIdOf } from '../../lib/nag';
import { OUTPUTS } from '../../lib/stack-outputs';
import type { CfnTemplate } from '../../lib/workflow-definitions';
import { IMPORTED_CLUSTER_CONTEXT, resourcesOfType, type Synthesized, synthesize } from './support';

/**
 * Least privilege in the template: who may read which database secret (the master user's
 * credentials migrate the schema and grant the pipeline's role; every function's SQL runs as that
 * role, with a secret of its own), and cdk-nag acknowledgments that say what the template grants.
 */

const PIPELINE_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-pipeline-XyZ123';
const MASTER_SECRET_ARN = IMPORTED_CLUSTER_CONTEXT['hindsight:secretArn'];

/** Every handler whose function runs SQL through the Data API. */
const SQL_HANDLERS = [
  'after-deploy',
  'check-earlier-dates',
  'lease',
  'plan',
  'prepare-date',
  'resolve-date',
  'stage',
  'verify',
];

let owned: Synthesized;
let importedWithPipelineSecret: Synthesized;
let importedAlone: Synthesized;

beforeAll(() => {
  owned = synthesize();
  importedWithPipelineSecret = synthesize({
    context: { ...IMPORTED_CLUSTER_CONTEXT, 'hindsight:pipelineSecretArn': PIPELINE_SECRET_ARN },
  });
  importedAlone = synthesize({ context: IMPORTED_CLUSTER_CONTEXT });
});

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

interface FunctionInfo {
  readonly id: string;
  readonly handler: string;
  readonly role: string;
  readonly environment: Record<string, unknown>;
}

function functionsOf(json: CfnTemplate): FunctionInfo[] {
  return resourcesOfType(json, 'AWS::Lambda::Function')
    .filter(([, fn]) => (fn.Metadata as Record<string, unknown> | undefined)?.['hindsight:handler'])
    .map(([id, fn]) => {
      const properties = fn.Properties as {
        Role: { 'Fn::GetAtt': [string, string] };
        Environment?: { Variables?: Record<string, unknown> };
      };
      return {
        id,
        handler: String((fn.Metadata as Record<string, unknown>)['hindsight:handler']),
        role: properties.Role['Fn::GetAtt'][0],
        environment: properties.Environment?.Variables ?? {},
      };
    });
}

/**
 * A secret reference as the template writes it, reduced to what it names: the logical id of a
 * secret (through its attachment to the cluster, when it has one), or an ARN given as text.
 */
function secretNamedBy(json: CfnTemplate, reference: unknown): string {
  if (typeof reference === 'string') return reference;
  const ref = (reference as { Ref?: unknown } | null)?.Ref;
  if (typeof ref !== 'string') return JSON.stringify(reference);
  const resource = json.Resources?.[ref];
  if (resource?.Type === 'AWS::SecretsManager::SecretTargetAttachment') {
    return secretNamedBy(json, (resource.Properties as { SecretId: unknown }).SecretId);
  }
  return ref;
}

/** The roles allowed `secretsmanager:GetSecretValue`, by the secret they may read. */
function secretReaders(json: CfnTemplate): Map<string, Set<string>> {
  const readers = new Map<string, Set<string>>();
  for (const [, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    const properties = policy.Properties as {
      PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> };
      Roles: Array<{ Ref: string }>;
    };
    for (const statement of properties.PolicyDocument.Statement) {
      if (!list(statement.Action).includes('secretsmanager:GetSecretValue')) continue;
      for (const resource of list(statement.Resource)) {
        const secret = secretNamedBy(json, resource);
        const roles = readers.get(secret) ?? new Set<string>();
        for (const role of properties.Roles) roles.add(role.Ref);
        readers.set(secret, roles);
      }
    }
  }
  return readers;
}

/** The logical id of the generated secret whose template holds `username`. */
function generatedSecretFor(json: CfnTemplate, username: string): string {
  const found = resourcesOfType(json, 'AWS::SecretsManager::Secret').filter(([, secret]) =>
    String(
      (secret.Properties as { GenerateSecretString?: { SecretStringTemplate?: string } }).GenerateSecretString
        ?.SecretStringTemplate,
    ).includes(`"${username}"`),
  );
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0]?.[0] ?? '';
}

const rolesOf = (functions: FunctionInfo[], handlers: readonly string[]) =>
  [...new Set(functions.filter((fn) => handlers.includes(fn.handler)).map((fn) => fn.role))].sort();

/** Every cdk-nag acknowledgment of `id` in the tree, by construct path. */
function acknowledgmentsOf(synthesized: Synthesized, id: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const construct of synthesized.app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
        if (rule.replace(/^annotation::/i, '') === id) found.set(construct.node.path, reason);
      }
    }
  }
  return found;
}

describe('Database access: an owned cluster', () => {
  it('lets only the after-deploy function read the master secret', () => {
    // Prepare
    const functions = functionsOf(owned.json);
    const master = generatedSecretFor(owned.json, 'hindsight_admin');

    // Act
    const readers = secretReaders(owned.json).get(master);

    // Assess
    expect([...(readers ?? [])].sort()).toEqual(rolesOf(functions, ['after-deploy']));
  });

  it('gives every function that runs SQL the pipeline secret: a fixed username and a generated password', () => {
    // Prepare
    const functions = functionsOf(owned.json);
    const pipelineSecret = generatedSecretFor(owned.json, 'hindsight_pipeline');

    // Act
    const readers = secretReaders(owned.json).get(pipelineSecret);

    // Assess
    expect([...(readers ?? [])].sort()).toEqual(rolesOf(functions, SQL_HANDLERS));
    owned.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: JSON.stringify({ username: 'hindsight_pipeline' }),
        GenerateStringKey: 'password',
      }),
    });
  });

  it('points every function at the pipeline secret, and only the after-deploy function at the master one', () => {
    // Prepare
    const functions = functionsOf(owned.json);
    const pipelineSecret = generatedSecretFor(owned.json, 'hindsight_pipeline');
    const master = generatedSecretFor(owned.json, 'hindsight_admin');

    // Act
    const secrets = functions.map((fn) => ({
      handler: fn.handler,
      sql: secretNamedBy(owned.json, fn.environment.DB_SECRET_ARN),
      master:
        fn.environment.DB_MASTER_SECRET_ARN === undefined
          ? null
          : secretNamedBy(owned.json, fn.environment.DB_MASTER_SECRET_ARN),
    }));

    // Assess
    for (const secret of secrets) {
      expect(secret).toEqual({
        handler: secret.handler,
        sql: pipelineSecret,
        master: secret.handler === 'after-deploy' ? master : null,
      });
    }
  });

  it('gives the CLI --aws mode the pipeline secret in the SecretArn output', () => {
    const pipelineSecret = generatedSecretFor(owned.json, 'hindsight_pipeline');
    const output = owned.template.findOutputs(OUTPUTS.secretArn)[OUTPUTS.secretArn];
    expect(secretNamedBy(owned.json, output?.Value)).toBe(pipelineSecret);
  });

  it('acknowledges that neither secret rotates with reasons that name who reads each', () => {
    // Act
    const reasons = acknowledgmentsOf(owned, 'AwsSolutions-SMG4');

    // Assess: one per secret, and each says what the template grants.
    expect([...reasons.keys()].sort()).toEqual([
      'Hindsight/Default/Database/Cluster/Secret',
      'Hindsight/Default/Database/PipelineSecret',
    ]);
    expect(reasons.get('Hindsight/Default/Database/Cluster/Secret')).toMatch(
      /only the after-deploy function's role/,
    );
    expect(reasons.get('Hindsight/Default/Database/PipelineSecret')).toMatch(/every function that runs SQL/);
    for (const reason of reasons.values()) expect(reason).not.toMatch(/only the Data API reads/);
  });
});

describe('Database access: an existing cluster', () => {
  it('with hindsight:pipelineSecretArn, lets only the after-deploy function read the master secret', () => {
    // Prepare
    const functions = functionsOf(importedWithPipelineSecret.json);

    // Act
    const readers = secretReaders(importedWithPipelineSecret.json);

    // Assess
    expect([...(readers.get(MASTER_SECRET_ARN) ?? [])].sort()).toEqual(rolesOf(functions, ['after-deploy']));
    expect([...(readers.get(PIPELINE_SECRET_ARN) ?? [])].sort()).toEqual(rolesOf(functions, SQL_HANDLERS));
    for (const fn of functions) {
      expect([fn.handler, fn.environment.DB_SECRET_ARN]).toEqual([fn.handler, PIPELINE_SECRET_ARN]);
      expect([fn.handler, fn.environment.DB_MASTER_SECRET_ARN]).toEqual([
        fn.handler,
        fn.handler === 'after-deploy' ? MASTER_SECRET_ARN : undefined,
      ]);
    }
    Annotations.fromStack(importedWithPipelineSecret.stack).hasNoWarning('*', Match.anyValue());
  });

  it('without it, runs everything with the given secret and says so at synth', () => {
    // Prepare
    const functions = functionsOf(importedAlone.json);

    // Act
    const readers = secretReaders(importedAlone.json);

    // Assess
    expect([...readers.keys()]).toEqual([MASTER_SECRET_ARN]);
    expect([...(readers.get(MASTER_SECRET_ARN) ?? [])].sort()).toEqual(rolesOf(functions, SQL_HANDLERS));
    for (const fn of functions) expect(fn.environment.DB_MASTER_SECRET_ARN).toBeUndefined();
    Annotations.fromStack(importedAlone.stack).hasWarning(
      '/Hindsight/Default/Database',
      Match.stringLikeRegexp('hindsight:pipelineSecretArn'),
    );
  });

  it('refuses hindsight:pipelineSecretArn without the cluster it belongs to, or malformed', () => {
    const context = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });
    expect(() => readConfig(context({ 'hindsight:pipelineSecretArn': PIPELINE_SECRET_ARN }))).toThrow(
      'hindsight:pipelineSecretArn names the pipeline role of an existing cluster',
    );
    expect(() =>
      readConfig(context({ ...IMPORTED_CLUSTER_CONTEXT, 'hindsight:pipelineSecretArn': 'pipeline' })),
    ).toThrow('Invalid hindsight:pipelineSecretArn: got "pipeline"');
    expect(
      readConfig(context({ ...IMPORTED_CLUSTER_CONTEXT, 'hindsight:pipelineSecretArn': PIPELINE_SECRET_ARN }))
        .importedDatabase,
    ).toEqual({
      clusterArn: IMPORTED_CLUSTER_CONTEXT['hindsight:clusterArn'],
      secretArn: MASTER_SECRET_ARN,
      databaseName: 'orders',
      pipelineSecretArn: PIPELINE_SECRET_ARN,
    });
  });
});

describe('cdk-nag acknowledgments', () => {
  it('of Resource::* name every action their role is granted on Resource "*"', () => {
    // Prepare: each acknowledged role, with its reason (an acknowledgment is a claim about the
    // template: a Resource::* one lists the actions granted on "*", and nothing else hides there)
    const acknowledged = owned.app.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
        .filter(([rule]) => rule.replace(/^annotation::/i, '') === 'AwsSolutions-IAM5[Resource::*]')
        .map(([, reason]) => ({ role: logicalIdOf(construct), reason })),
    );

    // Act: the actions on "*" each reason leaves out
    const unnamed = acknowledged.map(({ role, reason }) => {
      const onStar = resourcesOfType(owned.json, 'AWS::IAM::Policy')
        .map(
          ([, policy]) =>
            policy.Properties as {
              PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> };
              Roles: Array<{ Ref: string }>;
            },
        )
        .filter((policy) => policy.Roles.some((ref) => ref.Ref === role))
        .flatMap((policy) => policy.PolicyDocument.Statement)
        .filter((statement) => list(statement.Resource).includes('*'))
        .flatMap((statement) => list(statement.Action));
      return {
        role,
        grantsOnStar: onStar.length > 0,
        unnamed: onStar.filter((action) => !new RegExp(`\\b${action.split(':')[1]}\\b`).test(reason)),
      };
    });

    // Assess
    expect(unnamed.length).toBeGreaterThan(10);
    for (const found of unnamed) expect(found).toEqual({ role: found.role, grantsOnStar: true, unnamed: [] });
  });
});
