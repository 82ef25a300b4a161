// Writes dist/esm/index.mjs: an ES-module face over the CommonJS build, so that `import` and
// `require` consumers share one module instance (one backend state, no dual-package hazard).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cjs = require(path.join(root, 'dist/cjs/index.js'));
const names = Object.keys(cjs).filter((k) => k !== 'default' && k !== '__esModule').sort();
const out = [
  "import lernen from '../cjs/index.js';",
  ...names.map((n) => `export const ${n} = lernen.${n};`),
  '',
].join('\n');
fs.mkdirSync(path.join(root, 'dist/esm'), { recursive: true });
fs.writeFileSync(path.join(root, 'dist/esm/index.mjs'), out);
fs.writeFileSync(path.join(root, 'dist/esm/index.d.mts'), "export * from '../cjs/index.js';\n");
