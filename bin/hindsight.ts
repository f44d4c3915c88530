import { runCli } from '../cli/program';
import { environmentClock } from '../local/clock';

/** `hindsight` — the command line (npm run hindsight -- …, or npx hindsight …). */
runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  isTty: Boolean(process.stdout.isTTY),
  canAsk: Boolean(process.stdin.isTTY),
  now: environmentClock(), // HINDSIGHT_TODAY pins it (local/clock.ts)
}).then((code) => {
  process.exitCode = code;
});
