" Re-indents test/indent.flow from scratch (every line flush left, then =) and from
" itself, and reports every line that differs from the file as written.
let s:want = getline(1, '$')
let s:failures = []
silent %s/^\s\+//e
normal! gg=G
let s:got = getline(1, '$')
for s:i in range(len(s:want))
  if s:got[s:i] !=# s:want[s:i]
    call add(s:failures, printf('line %d: expected [%s], got [%s]', s:i + 1, s:want[s:i], s:got[s:i]))
  endif
endfor
call writefile(s:failures, $RESULT)
qall!
