-- The plugin survives daemon restarts: `orch daemon restart` (announced: it reconnects to the new
-- daemon) and a daemon killed with SIGKILL (unannounced: it starts a new one itself). After each,
-- changes still reach the statusline and :Orch still acts.
local T = dofile(debug.getinfo(1, 'S').source:sub(2):match('(.*/)') .. 'helpers.lua')
local orch = require('orch')
local client = require('orch.client')

T.run(function()
  T.setup_until('orch PLAN 0/3', 'the statusline to show the phase')
  local first = orch.client().instance_id

  local run = T.orch({ 'daemon', 'restart' })
  T.check(run.code == 0, 'orch daemon restart exits 0: ' .. run.stdout)
  T.wait(function()
    local c = orch.client()
    return c.state == 'connected' and c.instance_id ~= first
  end, 'the plugin to reconnect to the restarted daemon')
  local second = orch.client().instance_id
  T.check(second == client.read_registration(T.root).instanceId, 'connected to the registered daemon')

  run = T.orch({ 'complete', 'write_plan' })
  T.check(run.code == 0, 'orch complete exits 0: ' .. run.stdout)
  T.wait(function()
    return orch.statusline() == 'orch PLAN 1/3'
  end, 'a change after the restart to reach the statusline')

  -- Killed without a word: the plugin starts a daemon again by itself.
  local pid = client.read_registration(T.root).pid
  vim.loop.kill(pid, 'sigkill')
  T.wait(function()
    local c = orch.client()
    return c.state == 'connected' and c.instance_id ~= second
  end, 'the plugin to start and reach a new daemon after a kill -9')
  local reg = client.read_registration(T.root)
  T.check(reg.pid ~= pid, 'a new daemon runs')
  T.result.daemon_pid = reg.pid

  vim.cmd('Orch complete review_notes')
  T.wait(function()
    return orch.statusline() == 'orch PLAN 2/3 ⚑'
  end, ':Orch complete to act through the new daemon')
  T.result.restarted = true
end)
