-- No daemon runs. With an orch command that cannot run, the plugin says what to set and the
-- statusline shows `orch !`; with the real one it starts the daemon (`orch daemon start`) itself.
local T = dofile(debug.getinfo(1, 'S').source:sub(2):match('(.*/)') .. 'helpers.lua')
local orch = require('orch')
local client = require('orch.client')

T.run(function()
  T.check(client.read_registration(T.root) == nil, 'no daemon is registered at the start')
  orch.setup({ cmd = { T.root .. '/no-such-orch' } })
  local note = T.wait(function()
    return T.notes_with('cannot run', vim.log.levels.WARN)[1]
  end, 'a warning that the orch command cannot run')
  T.result.bad_cmd_note = note.msg
  T.result.bad_cmd_statusline = orch.statusline()

  T.setup_until('orch PLAN 0/3', 'the plugin to start the daemon and show the phase')
  local reg = client.read_registration(T.root)
  T.check(reg ~= nil and reg.instanceId == orch.client().instance_id, 'connected to the daemon it started')
  T.result.started_pid = reg.pid
end)
