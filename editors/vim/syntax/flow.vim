" Vim syntax file
" Language:    flow (flowc workflow files, *.flow)
" Maintainer:  the flowc authors
"
" Token classes: keywords, builtin types, builtin functions, durations, numbers, strings
" with nested ${...} interpolation and escapes, comments and /// doc comments, operators,
" retry policy names (after `policy`), step names (after `step`) and step references
" (after `after`, `on_failure`, `on_failure_of`). The keyword and type lists must match
" grammar/flow.pest: a test compares them (every `kw_*` rule and builtin type, nothing
" more).

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match

" Builtin types. (`secret` is also a keyword; the keyword list below wins.)
syn keyword flowType string int float bool duration secret list map record

" Keywords: every `kw_*` rule of grammar/flow.pest, reserved and contextual alike.
syn keyword flowKeyword workflow task step let secret import as after when for in if else finally on_failure_of
syn keyword flowKeyword max policy defaults run exec sleep approve native retry backoff jitter timeout env outputs
syn keyword flowKeyword on_failure max_parallel checkpoint concurrency priority dir max_failures

syn keyword flowBoolean true false

" Builtin functions (only where called) and backoff kinds.
syn match flowBuiltin "\<\%(basename\|concat\|contains\|dirname\|ends_with\|format_time\|get\|git_sha\|join\|json_get\|keys\|len\|lower\|now\|parse_float\|parse_int\|parse_json\|path_join\|replace\|run_id\|seconds\|sha256\|split\|starts_with\|to_json\|to_string\|trim\|upper\|values\|fixed\|linear\|exponential\)\ze\s*("

" Values only a retry condition sees, the `on_failure` policies, and the `concurrency`
" policies (the last word of a `concurrency` line).
syn match flowBuiltinVar "\<\%(exit_code\|timed_out\|attempt\)\>"
syn match flowPolicy "\%(\<on_failure\s\+\)\@<=\%(continue\|fail_fast\)\>"
syn match flowPolicy "\%(\<concurrency\>.*\)\@<=\<\%(queue\|skip\|cancel\)\>\ze\s*\%(//.*\)\=$"

" Policy names where declared (`policy network { ... }`).
syn match flowPolicyName "\%(\<policy\s\+\)\@<=\h\w*\ze\s*{"

" Step names where declared, and step references in `after` lists and failure handling.
syn match flowStepName "\%(\<step\s\+\)\@<=\h\w*"
syn match flowStepRef "\%(\<after\s\+\%(\h\w*\s*,\s*\)*\)\@<=\h\w*"
syn match flowStepRef "\%(\<on_failure_of\s\+\)\@<=\h\w*"
syn match flowStepRef "\%(\<on_failure\s\+\)\@<=\%(continue\>\|fail_fast\>\)\@!\h\w*"

" Numbers and durations (`500ms`, `1h30m`).
syn match flowNumber "\<\d[0-9_]*\%(\.\d\+\)\=\>"
syn match flowDuration "\<\%(\d[0-9_]*\%(ms\|[smhd]\)\)\+\>"

" Operators. (Comments are defined after them, so `//` is a comment, not two divisions.)
syn match flowOperator "||\|&&\|==\|!=\|<=\|>=\|[<>+*/%!=-]"

" Strings, with escapes and ${...} interpolation holding any expression, strings included.
syn match flowEscape "\\\%(u{\x\+}\|[ntr0\\\"$]\)" contained
syn region flowString start=+"+ skip=+\\\\\|\\"+ end=+"+ contains=flowEscape,flowInterp,@Spell
syn region flowInterp matchgroup=flowInterpDelim start="\${" end="}" contained contains=@flowExpr
syn region flowBraces start="{" end="}" contained transparent contains=@flowExpr
syn cluster flowExpr contains=flowKeyword,flowBoolean,flowType,flowBuiltin,flowBuiltinVar,flowNumber,flowDuration,flowOperator,flowString,flowBraces,flowComment

" Comments: `//` (and `////`) to the end of the line; `///` documents the next item.
syn match flowTodo "\<\%(TODO\|FIXME\|XXX\|NOTE\)\>" contained
syn match flowComment "//\%(/\%(/\)\@!\)\@!.*$" contains=flowTodo,@Spell
syn match flowDocComment "///\%(/\)\@!.*$" contains=flowTodo,@Spell

hi def link flowKeyword     Keyword
hi def link flowType        Type
hi def link flowBoolean     Boolean
hi def link flowBuiltin     Function
hi def link flowBuiltinVar  Identifier
hi def link flowPolicy      Constant
hi def link flowPolicyName  Constant
hi def link flowStepName    Function
hi def link flowStepRef     Label
hi def link flowNumber      Number
hi def link flowDuration    Number
hi def link flowOperator    Operator
hi def link flowString      String
hi def link flowEscape      SpecialChar
hi def link flowInterpDelim Delimiter
hi def link flowComment     Comment
hi def link flowDocComment  SpecialComment
hi def link flowTodo        Todo

let b:current_syntax = 'flow'

let &cpo = s:cpo_save
unlet s:cpo_save
