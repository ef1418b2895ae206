-- The statusline shows the phase; after the CLI completes an item it shows the new count, and the
-- time from the CLI's exit to the statusline's update is recorded (the test asserts ≤ 2 s).
local T = dofile(debug.getinfo(1, 'S').source:sub(2):match('(.*/)') .. 'helpers.lua')
local orch = require('orch')

T.run(function()
  T.setup_until('orch PLAN 0/3', 'the statusline to show the phase')
  T.check(orch.client().state == 'connected', 'connected')

  local run = T.orch({ 'complete', 'write_plan', '--notes', 'from another terminal' })
  T.check(run.code == 0, 'orch complete exits 0: ' .. run.stdout)
  local update = T.wait(function()
    return T.update_to('orch PLAN 1/3', run.started)
  end, 'the statusline to count the item the CLI completed')
  T.result.cli_ms = run.exited - run.started
  -- Negative when the notification arrived before the CLI process had even exited.
  T.result.after_exit_ms = update.at - run.exited
  T.result.after_start_ms = update.at - run.started
  -- From the daemon sending the notification (its `at`, wall clock) to the statusline's update.
  T.result.after_sent_ms = update.sent and (update.wall - update.sent) or vim.NIL

  -- A change made by another client is told with vim.notify.
  T.wait(function()
    return #T.notes_with('write_plan completed') > 0
  end, 'a notification about the change made in the other terminal')

  -- When only the person's gate is left, the statusline marks it.
  run = T.orch({ 'complete', 'review_notes' })
  T.check(run.code == 0, 'orch complete review_notes exits 0: ' .. run.stdout)
  T.wait(function()
    return orch.statusline() == 'orch PLAN 2/3 ⚑'
  end, 'the statusline to mark the gate that waits for a person')
  T.result.statusline = orch.statusline()
end)
