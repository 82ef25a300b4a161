#!/usr/bin/env node
'use strict';
const { main } = require('../dist/cjs/cli/index.js');
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`lernen: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
