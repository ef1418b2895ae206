-- Shared by the headless Neovim test scripts, which test/editors/nvim.test.ts runs as
--   nvim --headless -u NONE --cmd 'set rtp+=<repo>/editors/nvim' -c 'luafile <script>'
-- in a temp repository with a real daemon. Input: $ORCH_NVIM_CMD (the orch command, JSON list),
-- $ORCH_NVIM_RESULT (where to write the result, JSON). A script calls T.run(fn): the result is
-- written and Neovim quits with 0, or with 1 and the error (with its traceback) in the result.
-- Every wait is vim.wait on a condition with a generous deadline, never a bare sleep.
local uv = vim.loop
local T = { result = {}, notes = {} }

T.cmd = vim.json.decode(vim.env.ORCH_NVIM_CMD)
T.root = uv.fs_realpath(uv.cwd())

vim.cmd('runtime! plugin/orch.lua')

-- Every vim.notify is recorded, so scripts can check what the user was told.
vim.notify = function(msg, level)
  table.insert(T.notes, { msg = msg, level = level or vim.log.levels.INFO, at = T.now() })
end

--- Milliseconds on a monotonic clock.
function T.now()
  return uv.hrtime() / 1e6
end

--- Milliseconds since the epoch, on the wall clock (to compare with the daemon's ISO times).
function T.wall_ms()
  local sec, usec = uv.gettimeofday()
  return sec * 1000 + usec / 1000
end

--- `2026-12-03T15:36:52.123Z` as milliseconds since the epoch.
function T.iso_ms(iso)
  local y, mo, d, h, mi, s, ms = iso:match('^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?(%d*)Z$')
  if not y then
    return nil
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  -- Days from civil (Howard Hinnant's algorithm), so the local time zone plays no part.
  y = mo <= 2 and y - 1 or y
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return ((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60000 + tonumber(s) * 1000 + (tonumber(ms) or 0)
end

--- Waits until `cond()` is truthy (processing events meanwhile); fails naming `what` at the deadline.
function T.wait(cond, what, ms)
  local value
  local ok = vim.wait(ms or 30000, function()
    value = cond()
    return value
  end, 5)
  if not ok then
    error(('timed out after %d ms waiting for %s (statusline %q, notes %s)'):format(ms or 30000, what, require('orch').statusline(), vim.inspect(T.notes)), 2)
  end
  return value
end

--- Sets the plugin up with the test's orch command and waits until the statusline shows `line`.
function T.setup_until(line, what)
  local orch = require('orch')
  orch.setup({ cmd = T.cmd })
  T.wait(function()
    return orch.statusline() == line
  end, what)
end

function T.check(cond, what)
  if not cond then
    error('check failed: ' .. what, 2)
  end
end

--- Runs orch with `args` (the event loop keeps running); returns {code, stdout, started, exited}.
function T.orch(args)
  local cmd = vim.list_extend(vim.deepcopy(T.cmd), args)
  local run = { out = {} }
  local function collect(_, data)
    vim.list_extend(run.out, data or {})
  end
  run.started = T.now()
  local job = vim.fn.jobstart(cmd, {
    cwd = T.root,
    on_stdout = collect,
    on_stderr = collect,
    on_exit = function(_, code)
      run.exited = T.now()
      run.code = code
    end,
  })
  T.check(job > 0, 'could not run ' .. vim.inspect(cmd))
  T.wait(function()
    return run.code ~= nil
  end, 'orch ' .. table.concat(args, ' '))
  run.stdout = table.concat(run.out, '\n')
  return run
end

--- Notes (vim.notify messages) matching `pattern` (plain text), optionally of `level`.
function T.notes_with(pattern, level)
  return vim.tbl_filter(function(n)
    return n.msg:find(pattern, 1, true) ~= nil and (level == nil or n.level == level)
  end, T.notes)
end

--- Times (ms) at which the plugin announced a new status (its `User OrchStatus` event).
T.updates = {}
vim.api.nvim_create_autocmd('User', {
  pattern = 'OrchStatus',
  callback = function()
    local c = require('orch').client()
    local sent = c and c.last_notification and c.last_notification.at
    table.insert(T.updates, { at = T.now(), wall = T.wall_ms(), sent = sent and T.iso_ms(sent), line = require('orch').statusline() })
  end,
})

--- The first status update at or after `since` whose statusline is `line`.
function T.update_to(line, since)
  for _, u in ipairs(T.updates) do
    if u.at >= since and u.line == line then
      return u
    end
  end
  return nil
end

local function write_result(tbl)
  local f = assert(io.open(vim.env.ORCH_NVIM_RESULT, 'w'))
  f:write(vim.json.encode(tbl))
  f:close()
end

function T.run(fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    T.result.ok = true
  else
    T.result.ok = false
    T.result.error = err
  end
  T.result.notes = vim.tbl_map(function(n)
    return { msg = n.msg, level = n.level }
  end, T.notes)
  write_result(T.result)
  require('orch')._leave()
  vim.cmd(ok and 'qall!' or 'cquit 1')
end

return T
