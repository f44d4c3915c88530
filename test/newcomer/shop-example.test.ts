/**
 * examples/shop is a project of its own (it depends on hindsight by `file:../..`, a workspace of
 * this repository): its own tests pass and its lock file matches its stages, run the way its
 * README says, from its folder.
 */
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';

const SHOP = join(__dirname, '..', '..', 'examples', 'shop');

function inShop(command: string, args: readonly string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const key of ['NODE_OPTIONS', 'JEST_WORKER_ID', 'FORCE_COLOR']) delete env[key];
  env.PATH = [dirname(process.execPath), env.PATH ?? ''].join(delimiter);
  const result = spawnSync(command, args, { cwd: SHOP, env, encoding: 'utf8', timeout: 10 * 60_000 });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('The shop example as a standalone project', () => {
  it('passes its own tests (npm test in examples/shop)', () => {
    const result = inShop('npm', ['test']);
    expect(result.output).toMatch(/pass 5/);
    expect(result).toMatchObject({ code: 0 });
  });

  it('has a lock file that matches its stages (npx hindsight lock --check)', () => {
    const result = inShop('npx', ['hindsight', 'lock', '--check']);
    expect(result).toEqual({
      code: 0,
      output: "hindsight.lock.json matches every stage's code and version.\n",
    });
  });
});
