import { runCli } from '../cli/program';

/** `hindsight` — the command line (npm run hindsight -- …, or npx hindsight …). */
runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  isTty: Boolean(process.stdout.isTTY),
  now: () => new Date(),
}).then((code) => {
  process.exitCode = code;
});
