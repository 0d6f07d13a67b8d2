" Vim filetype detection for flowc workflow files (*.flow).
autocmd BufRead,BufNewFile *.flow setfiletype flow
