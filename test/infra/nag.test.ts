import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { IMPORTED_CLUSTER_CONTEXT, type Synthesized, synthesize } from './support';

let owned: Synthesized;
let imported: Synthesized;

beforeAll(() => {
  owned = synthesize();
  imported = synthesize({ context: IMPORTED_CLUSTER_CONTEXT });
});

/** Every cdk-nag acknowledgment in the tree: where, which finding, and why. */
function acknowledgments(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      )
      .filter(({ id }) => id.startsWith('AwsSolutions-')),
  );
}

describe('cdk-nag: AwsSolutionsChecks', () => {
  it.each([
    ['an owned cluster', () => owned],
    ['an imported cluster', () => imported],
  ])('finds nothing unacknowledged with %s', (_, stack) => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(stack().app);

    // Assess
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges findings one by one on the resource concerned, never on the stack, each with a reason', () => {
    // Prepare
    const found = acknowledgments(owned.app);

    // Assess
    expect(found.length).toBeGreaterThan(0);
    for (const { path, id, reason } of found) {
      expect(path.startsWith(`${owned.stack.node.path}/`)).toBe(true);
      expect(id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect({ id, reasonIsSpecific: reason.length > 60 }).toEqual({ id, reasonIsSpecific: true });
    }
  });
});
