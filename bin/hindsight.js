#!/usr/bin/env node
// `hindsight` (npx hindsight, npm run hindsight): runs the compiled CLI in dist/. Plain JavaScript
// that any Node can parse, so that an older Node gets a sentence instead of a syntax error.

const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < REQUIRED_MAJOR) {
  process.stderr.write(
    `hindsight needs Node.js ${REQUIRED_MAJOR} or later; this is Node.js ${process.versions.node} (${process.execPath}).\n` +
      'A Hindsight project carries Node.js 24 as its `node` dev dependency, which npm puts first on the PATH\n' +
      'of everything it runs: use `npx hindsight …` or `npm run hindsight -- …` inside the project\n' +
      '(after `npm install`), or install Node.js 24.\n',
  );
  process.exit(2);
}

const { existsSync } = require('node:fs');
const { join } = require('node:path');

// In a git checkout (the sources are here), rebuild dist/ first when a source is newer: stat
// calls when nothing changed. An installed package has no sources and ships dist/ built.
const root = join(__dirname, '..');
if (existsSync(join(root, 'tools', 'build.mjs')) && existsSync(join(root, 'cli', 'program.ts'))) {
  require('../tools/build.mjs').ensureBuilt();
}
require('../dist/bin/hindsight.js');
