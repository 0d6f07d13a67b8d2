" Checks the syntax group at chosen places of test/highlight.flow. Each expectation is a
" search pattern (the match start, or \zs, is the place) and the group expected there.
let s:expect = [
      \ ['// A comment', 'flowComment'],
      \ ['comment with \zsTODO', 'flowTodo'],
      \ ['////', 'flowComment'],
      \ ['\<import', 'flowKeyword'],
      \ ['"std/http"', 'flowString'],
      \ ['\<as\>', 'flowKeyword'],
      \ ['/// Documents', 'flowDocComment'],
      \ ['^workflow', 'flowKeyword'],
      \ ['target: \zsstring', 'flowType'],
      \ ['\<list<', 'flowType'],
      \ ['n: \zsint', 'flowType'],
      \ ['spec: \zsrecord', 'flowType'],
      \ ['1_000', 'flowNumber'],
      \ ['= \zs"staging"', 'flowString'],
      \ ['defaults', 'flowKeyword'],
      \ ['timeout \zs30m', 'flowDuration'],
      \ ['max_parallel', 'flowKeyword'],
      \ ['max_parallel \zs4', 'flowNumber'],
      \ ['\<priority\>', 'flowKeyword'],
      \ ['priority \zs2', 'flowNumber'],
      \ ['\<dir\>', 'flowKeyword'],
      \ ['\<max_failures\>', 'flowKeyword'],
      \ ['on_failure \zsfail_fast', 'flowPolicy'],
      \ ['\<concurrency', 'flowKeyword'],
      \ ['"deploy-', 'flowString'],
      \ ['deploy-${\zstarget', 'flowInterp'],
      \ ['}" \zscancel', 'flowPolicy'],
      \ ['\<let\>', 'flowKeyword'],
      \ ['ratio: \zsfloat', 'flowType'],
      \ ['2\.5', 'flowNumber'],
      \ ['\<secret\>', 'flowKeyword'],
      \ ['step \zsbuild', 'flowStepName'],
      \ ['\<run\>', 'flowKeyword'],
      \ ['"make', 'flowString'],
      \ ['make \zs\${', 'flowInterpDelim'],
      \ ['make ${\zstarget', 'flowInterp'],
      \ ['\\"quoted', 'flowEscape'],
      \ ['\\\$HOME', 'flowEscape'],
      \ ['\${\zsif n', 'flowKeyword'],
      \ ['if n \zs>', 'flowOperator'],
      \ ['"many \zs\${n', 'flowInterpDelim'],
      \ ['"many ${\zsn', 'flowInterp'],
      \ ['else { \zs"one"', 'flowString'],
      \ ['"one" }} \zsdone', 'flowString'],
      \ ['\<retry\>', 'flowKeyword'],
      \ ['retry \zs3', 'flowNumber'],
      \ ['\<backoff\>', 'flowKeyword'],
      \ ['exponential', 'flowBuiltin'],
      \ ['(\zs2s', 'flowDuration'],
      \ ['1h30m', 'flowDuration'],
      \ ['\<jitter', 'flowKeyword'],
      \ ['exit_code', 'flowBuiltinVar'],
      \ ['!=', 'flowOperator'],
      \ ['||', 'flowOperator'],
      \ ['&&', 'flowOperator'],
      \ ['timed_out', 'flowBuiltinVar'],
      \ ['\<attempt\>', 'flowBuiltinVar'],
      \ ['\<outputs', 'flowKeyword'],
      \ ['digest: \zsstring', 'flowType'],
      \ ['step \zslint', 'flowStepName'],
      \ ['lint after \zsbuild', 'flowStepRef'],
      \ ['lint after build, \zstest', 'flowStepRef'],
      \ ['\<when\>', 'flowKeyword'],
      \ ['when \zs!', 'flowOperator'],
      \ ['target \zs==', 'flowOperator'],
      \ ['\<exec\>', 'flowKeyword'],
      \ ['\<for\>', 'flowKeyword'],
      \ ['region \zsin\>', 'flowKeyword'],
      \ ['regions \zsmax', 'flowKeyword'],
      \ ['\<sleep\>', 'flowKeyword'],
      \ ['500ms', 'flowDuration'],
      \ ['on_failure_of', 'flowKeyword'],
      \ ['on_failure_of \zsbuild', 'flowStepRef'],
      \ ['\<approve\>', 'flowKeyword'],
      \ ['^  \zsfinally', 'flowKeyword'],
      \ ['\<len\>', 'flowBuiltin'],
      \ ['len(regions) \zs\*', 'flowOperator'],
      \ ['2 \zs-', 'flowOperator'],
      \ ['1 \zs%', 'flowOperator'],
      \ ['3 \zs/', 'flowOperator'],
      \ ['${\zsworkflow\.', 'flowKeyword'],
      \ ['${\zstrue', 'flowBoolean'],
      \ ['  on_failure \zsbuild', 'flowStepRef'],
      \ ['http\.\zswait_ok', ''],
      \ ['\<env\>', 'flowKeyword'],
      \ ['^policy', 'flowKeyword'],
      \ ['policy \zsnetwork', 'flowPolicyName'],
      \ ['network { \zsretry', 'flowKeyword'],
      \ ['\<native\>', 'flowKeyword'],
      \ ['native \zs"http', 'flowString'],
      \ ['\<to_json', 'flowBuiltin'],
      \ ['\<parse_json', 'flowBuiltin'],
      \ ['\<json_get', 'flowBuiltin'],
      \ ['\<format_time', 'flowBuiltin'],
      \ ]

let s:failures = []
for [s:pattern, s:group] in s:expect
  call cursor(1, 1)
  if search(s:pattern, 'cW') == 0
    call add(s:failures, 'pattern not found: ' . s:pattern)
    continue
  endif
  let s:got = synIDattr(synID(line('.'), col('.'), 1), 'name')
  if s:got !=# s:group
    call add(s:failures, printf('%d:%d /%s/: expected %s, got %s (stack: %s)', line('.'),
          \ col('.'), s:pattern, s:group ==# '' ? '(none)' : s:group, s:got ==# '' ? '(none)' : s:got,
          \ join(map(synstack(line('.'), col('.')), 'synIDattr(v:val, "name")'), ' > ')))
  endif
endfor

" Linked groups: what a colour scheme sees.
for [s:group, s:link] in [['flowKeyword', 'Keyword'], ['flowDocComment', 'SpecialComment'],
      \ ['flowDuration', 'Number'], ['flowStepRef', 'Label']]
  let s:got = matchstr(execute('highlight ' . s:group), 'links to \zs\w\+')
  if s:got !=# s:link
    call add(s:failures, printf('%s links to %s, expected %s', s:group, s:got, s:link))
  endif
endfor

if &filetype !=# 'flow' || &commentstring !=# '// %s' || &shiftwidth != 2 || !&expandtab
  call add(s:failures, printf('ftplugin: filetype=%s commentstring=%s shiftwidth=%d expandtab=%d',
        \ &filetype, &commentstring, &shiftwidth, &expandtab))
endif

call writefile(s:failures, $RESULT)
qall!
