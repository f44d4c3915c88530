#!/usr/bin/env node
// `npx hindsight`: run the TypeScript CLI through tsx (npm puts Node 24 first on the PATH).
require('tsx/cjs');
require('./hindsight.ts');
