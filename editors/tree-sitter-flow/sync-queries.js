#!/usr/bin/env node
// Makes the Neovim and Helix query files from the ones in queries/, so that there is one
// source to edit: `node sync-queries.js` writes them, `node sync-queries.js --check` fails
// if a committed copy is out of date.
//
// The Neovim files are copies; Helix names some captures differently (see HELIX_NAMES).
'use strict';

const fs = require('fs');
const path = require('path');

const here = __dirname;
const editors = path.join(here, '..');

// nvim-treesitter capture name -> Helix capture name.
const HELIX_NAMES = {
  'comment.documentation': 'comment.line.documentation',
  'comment': 'comment.line',
  'keyword.import': 'keyword.control.import',
  'keyword.conditional': 'keyword.control.conditional',
  'keyword.repeat': 'keyword.control.repeat',
  'function.call': 'function',
  'number.float': 'constant.numeric.float',
  'number': 'constant.numeric.integer',
  'boolean': 'constant.builtin.boolean',
  'string.escape': 'constant.character.escape',
  'property': 'variable.other.member',
  'module': 'namespace',
};

function helix(text) {
  const names = Object.keys(HELIX_NAMES).sort((a, b) => b.length - a.length);
  return text
    .replace(/@([\w.]+)/g, (whole, name) => {
      const from = names.find(n => name === n);
      return from ? '@' + HELIX_NAMES[from] : whole;
    })
    .replace(/^; Highlights for \.flow files, with the capture names of nvim-treesitter\./m,
      '; Highlights for .flow files, with the capture names of Helix.')
    .replace(/^; editors\/neovim and[\s\S]*?current\.$/m,
      '; Made by editors/tree-sitter-flow/sync-queries.js from queries/highlights.scm: edit that.');
}

const read = name => fs.readFileSync(path.join(here, 'queries', name), 'utf8');
const outputs = {
  'neovim/queries/flow/highlights.scm': read('highlights.scm'),
  'neovim/queries/flow/locals.scm': read('locals.scm'),
  'neovim/queries/flow/folds.scm': read('folds.scm'),
  'neovim/queries/flow/indents.scm': read('indents.scm'),
  'helix/runtime/queries/flow/highlights.scm': helix(read('highlights.scm')),
  'helix/runtime/queries/flow/locals.scm': read('locals.scm'),
};

const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, text] of Object.entries(outputs)) {
  const file = path.join(editors, rel);
  if (check) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (current !== text) {
      console.error(`editors/${rel} is out of date: run node editors/tree-sitter-flow/sync-queries.js`);
      stale++;
    }
  } else {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}
process.exit(stale ? 1 : 0);
