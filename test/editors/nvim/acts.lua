-- :Orch complete / approve / status act through the daemon; the daemon's errors are shown with
-- their message; item ids complete. The test checks state.json on disk afterwards.
local T = dofile(debug.getinfo(1, 'S').source:sub(2):match('(.*/)') .. 'helpers.lua')
local orch = require('orch')

T.run(function()
  orch.setup({ cmd = T.cmd, by = 'Ada from nvim' })
  T.wait(function()
    return orch.statusline() == 'orch PLAN 0/3'
  end, 'the statusline to show the phase')

  -- Completion offers the subcommands, then the items each can act on.
  local subs = orch.complete_command('', 'Orch ')
  T.check(vim.deep_equal(subs, { 'status', 'complete', 'skip', 'approve' }), 'subcommands complete: ' .. vim.inspect(subs))
  local items = orch.complete_command('', 'Orch complete ')
  T.check(vim.deep_equal(items, { 'write_plan', 'review_notes' }), 'open items complete: ' .. vim.inspect(items))
  items = orch.complete_command('re', 'Orch skip re')
  T.check(vim.deep_equal(items, { 'review_notes' }), 'skip completes by prefix: ' .. vim.inspect(items))
  items = orch.complete_command('', 'Orch approve ')
  T.check(vim.deep_equal(items, { 'plan_approval' }), 'approve offers the manual gate: ' .. vim.inspect(items))

  vim.cmd('Orch complete write_plan done in the editor')
  T.wait(function()
    return orch.statusline() == 'orch PLAN 1/3'
  end, ':Orch complete to count the item')
  T.wait(function()
    return #T.notes_with("Item 'write_plan' completed") > 0
  end, 'the result of :Orch complete to be shown')
  T.result.items_after_complete = orch.complete_command('', 'Orch complete ')

  vim.cmd('Orch skip review_notes covered by the plan review')
  T.wait(function()
    return orch.statusline() == 'orch PLAN 2/3 ⚑'
  end, ':Orch skip to count the item, and the gate mark')

  -- An error from the daemon is shown with its message.
  vim.cmd('Orch complete no_such_item')
  local err = T.wait(function()
    return T.notes_with('no_such_item', vim.log.levels.ERROR)[1]
  end, 'the daemon error for an unknown item')
  T.result.error_note = err.msg

  vim.cmd('Orch approve plan_approval')
  T.wait(function()
    return orch.statusline() == 'orch PLAN 3/3'
  end, ':Orch approve to complete the gate')

  -- Nothing this editor did itself is announced as another's change.
  T.result.own_announced = vim.tbl_map(function(n)
    return n.msg
  end, T.notes_with('(PLAN '))

  vim.cmd('Orch status')
  T.wait(function()
    return vim.api.nvim_buf_get_name(0):match('orch://status$')
  end, ':Orch status to open its buffer')
  T.result.buffer = vim.api.nvim_buf_get_lines(0, 0, -1, false)
end)
