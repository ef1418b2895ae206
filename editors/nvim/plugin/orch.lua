-- :Orch status | complete {item} [notes] | skip {item} {reason} | approve [item]
-- (require('orch').setup() defines them too, for plugin managers that add editors/nvim late.)
if vim.g.loaded_orch then
  return
end
vim.g.loaded_orch = true
require('orch').define_commands()
