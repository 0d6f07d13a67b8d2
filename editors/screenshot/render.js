#!/usr/bin/env node
// Renders a .flow file to HTML with the VS Code TextMate grammar, the way VS Code
// tokenizes it (vscode-textmate with the Oniguruma regex engine), coloured with a small
// Dark+-like theme. Used by screenshot.sh for editors/README.md.
//
//   node render.js FILE.flow > out.html
'use strict';

const fs = require('fs');
const path = require('path');

const modules = path.join(__dirname, '..', 'vscode', 'node_modules');
const vsctm = require(path.join(modules, 'vscode-textmate'));
const oniguruma = require(path.join(modules, 'vscode-oniguruma'));

const grammarPath = path.join(__dirname, '..', 'vscode', 'syntaxes', 'flow.tmLanguage.json');

// Scope prefix -> colour; the longest matching prefix of the innermost scope that has one
// wins, as in a VS Code theme.
const THEME = [
  ['comment.line.documentation', '#6a9955', 'italic'],
  ['comment', '#6a9955'],
  ['string', '#ce9178'],
  ['constant.character.escape', '#d7ba7d'],
  ['punctuation.section.interpolation', '#569cd6'],
  ['meta.interpolation', '#d4d4d4'],
  ['constant.numeric', '#b5cea8'],
  ['constant.language', '#569cd6'],
  ['invalid', '#f44747'],
  ['keyword.operator', '#d4d4d4'],
  ['keyword.control', '#c586c0'],
  ['keyword', '#569cd6'],
  ['support.type', '#4ec9b0'],
  ['support.function', '#dcdcaa'],
  ['support.constant', '#4fc1ff'],
  ['entity.name.function.step', '#dcdcaa', 'bold'],
  ['entity.name.function', '#dcdcaa'],
  ['entity.name.namespace', '#4ec9b0'],
  ['variable.language', '#569cd6'],
  ['variable.parameter', '#9cdcfe'],
  ['variable.other.property', '#9cdcfe'],
  ['variable.other.constant', '#4fc1ff'],
  ['variable', '#9cdcfe'],
];

function style(scopes) {
  for (let i = scopes.length - 1; i >= 0; i--) {
    let best = null;
    for (const entry of THEME) {
      const [prefix] = entry;
      if ((scopes[i] === prefix || scopes[i].startsWith(prefix + '.')) &&
          (!best || prefix.length > best[0].length)) {
        best = entry;
      }
    }
    if (best) {
      // Inside an interpolation the embedded code keeps its own colours; plain text there
      // is not string-coloured.
      const [, colour, font] = best;
      return `color:${colour}` + (font === 'italic' ? ';font-style:italic' : '') +
        (font === 'bold' ? ';font-weight:bold' : '');
    }
  }
  return 'color:#d4d4d4';
}

const escape = s => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

async function main() {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node render.js FILE.flow > out.html');
    process.exit(2);
  }
  const wasm = fs.readFileSync(path.join(modules, 'vscode-oniguruma', 'release', 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: patterns => new oniguruma.OnigScanner(patterns),
      createOnigString: s => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () => vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath),
  });
  const grammar = await registry.loadGrammar('source.flow');
  const lines = fs.readFileSync(file, 'utf8').replace(/\n$/, '').split('\n');
  let state = vsctm.INITIAL;
  const html = [];
  lines.forEach((line, n) => {
    const result = grammar.tokenizeLine(line, state);
    state = result.ruleStack;
    const spans = result.tokens.map(t =>
      `<span style="${style(t.scopes)}">${escape(line.slice(t.startIndex, t.endIndex))}</span>`);
    html.push(`<span class="ln">${String(n + 1).padStart(3)}</span>  ${spans.join('')}`);
  });
  process.stdout.write(`<!doctype html>
<html><head><meta charset="utf-8"><style>
  body { margin: 0; background: #1e1e1e; }
  .title { font: 13px sans-serif; color: #cccccc; background: #2d2d2d; padding: 8px 16px; }
  pre { margin: 0; padding: 12px 16px; font: 14px/1.45 "DejaVu Sans Mono", monospace;
        color: #d4d4d4; }
  .ln { color: #6e7681; }
</style></head><body>
<div class="title">${escape(path.basename(file))} — highlighted by editors/vscode/syntaxes/flow.tmLanguage.json</div>
<pre>${html.join('\n')}</pre>
</body></html>
`);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
