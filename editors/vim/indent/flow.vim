" Vim indent file for flow (flowc workflow files): one level per open {, [ or (.

if exists('b:did_indent')
  finish
endif
let b:did_indent = 1

setlocal indentexpr=GetFlowIndent(v:lnum)
setlocal indentkeys=0{,0},0),0],!^F,o,O,e
setlocal autoindent

let b:undo_indent = 'setlocal indentexpr< indentkeys< autoindent<'

if exists('*GetFlowIndent')
  finish
endif

" The brackets of a line that count: strings and comments removed.
function! s:Code(line) abort
  let line = substitute(a:line, '"\%(\\.\|[^"\\]\)*"', '""', 'g')
  return substitute(line, '//.*$', '', '')
endfunction

function! s:Count(text, pattern) abort
  return len(substitute(a:text, a:pattern, '', 'g'))
endfunction

function! GetFlowIndent(lnum) abort
  let prev = prevnonblank(a:lnum - 1)
  if prev == 0
    return 0
  endif
  let code = s:Code(getline(prev))
  " Closers at the start of the previous line already dedented it.
  let leading = strlen(matchstr(code, '^\s*\zs[}\])]\+'))
  let opened = s:Count(code, '[^{[(]') - (s:Count(code, '[^}\])]') - leading)
  let ind = indent(prev) + shiftwidth() * opened
  let closing = strlen(matchstr(s:Code(getline(a:lnum)), '^\s*\zs[}\])]\+'))
  return max([0, ind - shiftwidth() * closing])
endfunction
