" Vim filetype plugin for flow (flowc workflow files): comments, indentation options.

if exists('b:did_ftplugin')
  finish
endif
let b:did_ftplugin = 1

" `///` doc comments and `//` comments continue on the next line with the same leader.
setlocal comments=:///,://
setlocal commentstring=//\ %s
setlocal formatoptions-=t formatoptions+=croql

" Two spaces, as `flowc fmt` writes it.
setlocal expandtab shiftwidth=2 softtabstop=2 tabstop=8

setlocal suffixesadd=.flow

let b:undo_ftplugin = 'setlocal comments< commentstring< formatoptions< expandtab<'
      \ . ' shiftwidth< softtabstop< tabstop< suffixesadd<'
