-- `.flow` files are flowc workflows.
vim.filetype.add({ extension = { flow = 'flow' } })
