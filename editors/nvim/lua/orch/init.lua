-- orch for Neovim: the workflow's phase in the statusline, the checklist in a buffer, and
-- `:Orch complete|skip|approve` — all through the repository's orch daemon (see README.md,
-- "Neovim"). Needs Neovim 0.7 or later and the `orch` command; nothing else.
local client_mod = require('orch.client')
local render = require('orch.render')

local M = {}

local defaults = {
  -- The orch command, as a list: e.g. { 'npx', 'orch' } or { 'node', '/path/to/orch.cjs' }.
  cmd = { 'orch' },
  -- The repository root; default: found from Neovim's working directory as the CLI finds it.
  root = nil,
  -- Follow this session instead of the repository's current one (default: $ORCH_SESSION).
  session = nil,
  -- Start the daemon (`orch daemon start`) when none answers.
  autostart = true,
  -- Tell of changes made by others (another terminal, an agent) with vim.notify.
  notify = true,
  -- Shown in the statusline when a gate waits for a person.
  gate_mark = '⚑',
  -- The approver's name for :Orch approve (default: git config user.name, else $USER).
  by = nil,
}

M.config = vim.deepcopy(defaults)

local client = nil
-- Changes this editor made (their updatedAt), so that their notifications are not announced.
local own = { pending = 0, queued = {}, updated = {}, order = {} }

local function remember_own(updated_at)
  own.updated[updated_at] = true
  table.insert(own.order, updated_at)
  if #own.order > 100 then
    own.updated[table.remove(own.order, 1)] = nil
  end
end
local status_buf = nil
local attempted_root = nil

local function notify(msg, level)
  vim.notify('orch: ' .. msg, level or vim.log.levels.INFO, { title = 'orch' })
end

local function status_changed()
  vim.api.nvim_exec_autocmds('User', { pattern = 'OrchStatus', modeline = false })
  pcall(vim.cmd, 'redrawstatus!')
  if status_buf and vim.api.nvim_buf_is_valid(status_buf) then
    M._render_buffer(status_buf)
  end
end

-- A change this editor made itself is not announced: its result already was.
local function announce(status, prev, extra)
  if not M.config.notify then
    return
  end
  local changes = render.changes(prev, status)
  if #changes == 0 then
    return
  end
  local done, total = render.counts(status)
  local msg = table.concat(changes, '; ') .. (' (%s %d/%d)'):format(status.phase, done, total)
  if extra and extra.external then
    msg = msg .. ' — edited outside orch'
  end
  local event = { updatedAt = status.updatedAt, msg = msg, items = changes }
  if own.pending > 0 then
    table.insert(own.queued, event)
  elseif not own.updated[status.updatedAt] then
    notify(msg)
  end
end

local function on_status(status, prev, why, extra)
  if why == 'change' then
    announce(status, prev, extra)
  elseif why == 'read' and render.has_workflow(prev) and render.has_workflow(status) and prev.sessionId ~= status.sessionId and M.config.notify then
    notify(('following session %s: %s'):format(tostring(status.sessionId), tostring(status.task)))
  end
  status_changed()
end

local function on_event(kind, info)
  if kind == 'disconnected' then
    if info.deliberate and not tostring(info.reason):match('restart') then
      notify(('the daemon stopped (%s); reconnecting when one starts (any orch command, or :Orch status, starts one)'):format(info.reason), vim.log.levels.WARN)
    end
    status_changed()
  elseif kind == 'connected' then
    status_changed()
  elseif kind == 'failed' then
    status_changed()
  end
end

local function get_client(quiet)
  if client then
    return client
  end
  local root = client_mod.find_root(nil, M.config.root)
  if not root then
    if not quiet then
      notify(('%s is not inside a repository (no .git or workflow.yaml in it or any folder above); set require("orch").setup({ root = ... })'):format(vim.loop.cwd()), vim.log.levels.ERROR)
    end
    return nil
  end
  client = client_mod.new({
    root = root,
    cmd = M.config.cmd,
    session = M.config.session or (vim.env.ORCH_SESSION ~= '' and vim.env.ORCH_SESSION or nil),
    autostart = M.config.autostart,
    on_status = on_status,
    on_event = on_event,
  })
  return client
end

--- Connects when the repository already uses orch (has `.orchestrator/`); never creates it.
local function autoconnect()
  local root = client_mod.find_root(nil, M.config.root)
  if not root or attempted_root == root then
    return
  end
  attempted_root = root
  if vim.loop.fs_stat(root .. '/.orchestrator') == nil then
    return
  end
  local c = get_client(true)
  if c then
    c:ensure(M.config.autostart, function(err)
      if err then
        notify(err.message, vim.log.levels.WARN)
      end
    end)
  end
end

function M.setup(opts)
  M.define_commands()
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  if opts and opts.cmd then
    M.config.cmd = opts.cmd
  end
  if client then
    client:stop()
    client = nil
  end
  attempted_root = nil
  autoconnect()
end

--- The statusline text: `orch PLAN 1/2` (⚑ when a gate waits for a person), `orch -` without a
--- workflow, `…` appended while reconnecting, `orch !` when no daemon could be reached (the error
--- was shown), '' outside an orch repository. Updated from the
--- daemon's notifications; this function only reads what the plugin already knows.
function M.statusline()
  if not client then
    if attempted_root == nil then
      vim.schedule(autoconnect)
    end
    return ''
  end
  local s = render.statusline(client.status, M.config.gate_mark)
  if client.state == 'failed' and s == '' then
    return 'orch !'
  end
  if client.state ~= 'connected' and (client.state ~= 'idle' or s ~= '') then
    s = (s == '' and 'orch' or s) .. ' …'
  end
  return s
end

--- The status the plugin shows (the daemon's session/status view), or nil.
function M.current()
  return client and client.status or nil
end

--- The connection (for scripts and tests): state, instance_id, root.
function M.client()
  return client
end

local function approver()
  if M.config.by then
    return M.config.by
  end
  local c = client
  local out = vim.fn.systemlist({ 'git', '-C', c and c.root or '.', 'config', 'user.name' })
  if vim.v.shell_error == 0 and out[1] and out[1] ~= '' then
    return out[1]
  end
  return vim.env.USER
end

--- Sends a workflow change; shows its result or the daemon's error. `cb(err, result)` optional.
local function act(method, params, cb)
  local c = get_client()
  if not c then
    return cb and cb({ message = 'not in a repository' })
  end
  if c.opts.session then
    params.sessionId = c.opts.session
  end
  own.pending = own.pending + 1
  c:request(method, params, function(err, result)
    own.pending = own.pending - 1
    local queued = own.queued
    if own.pending == 0 then
      own.queued = {}
    end
    if err then
      notify(tostring(err.message), vim.log.levels.ERROR)
    else
      remember_own(result.status.updatedAt)
      if not c.status or not c.status.updatedAt or result.status.sessionId ~= c.status.sessionId or result.status.updatedAt >= c.status.updatedAt then
        c:set_status(result.status, 'own')
      end
      local msg = result.message
      if result.status.waitingForPerson then
        msg = msg .. '; waiting for a person: ' .. render.person_step(result.status.waitingForPerson)
      end
      notify(msg)
      for _, w in ipairs(result.warnings or {}) do
        notify(w, vim.log.levels.WARN)
      end
    end
    if own.pending == 0 then
      for _, e in ipairs(queued) do
        if not own.updated[e.updatedAt] and not (err and #e.items == 1 and e.items[1]:find(params.itemId or '\0', 1, true) == 1) then
          notify(e.msg)
        end
      end
    end
    if cb then
      cb(err, result)
    end
  end)
end

function M.complete(item, notes, cb)
  act('item/complete', { itemId = item, notes = notes }, cb)
end

function M.skip(item, reason, cb)
  act('item/skip', { itemId = item, reason = reason }, cb)
end

--- Approves a manual-gate item; without `item`, the current phase's human-approval gate.
function M.approve(item, cb)
  if item then
    act('item/approve', { itemId = item, by = approver() }, cb)
  else
    act('phase/approve', { by = approver() }, cb)
  end
end

function M._render_buffer(buf)
  local c = client
  local lines = c and c.status and render.status_lines(c.status) or { 'orch: not connected' }
  if c and c.state ~= 'connected' then
    table.insert(lines, 1, '(reconnecting to the orch daemon …)')
  end
  vim.api.nvim_buf_set_option(buf, 'modifiable', true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(buf, 'modifiable', false)
end

--- Opens (or refreshes) the `orch://status` scratch buffer with the checklist; kept up to date.
function M.status(cb)
  local c = get_client()
  if not c then
    return
  end
  c:ensure(M.config.autostart, function(err)
    if err then
      notify(err.message, vim.log.levels.ERROR)
      return cb and cb(err)
    end
    c:refresh(function(rerr)
      if rerr then
        notify(tostring(rerr.message), vim.log.levels.ERROR)
      end
      if not status_buf or not vim.api.nvim_buf_is_valid(status_buf) then
        status_buf = vim.api.nvim_create_buf(false, true)
        vim.api.nvim_buf_set_name(status_buf, 'orch://status')
        vim.api.nvim_buf_set_option(status_buf, 'bufhidden', 'wipe')
        vim.api.nvim_buf_set_option(status_buf, 'filetype', 'orch')
        vim.api.nvim_buf_set_keymap(status_buf, 'n', 'q', '<cmd>close<CR>', { noremap = true, silent = true })
      end
      M._render_buffer(status_buf)
      if vim.fn.bufwinnr(status_buf) == -1 then
        vim.cmd('botright split')
        vim.api.nvim_win_set_buf(0, status_buf)
      end
      if cb then
        cb(rerr)
      end
    end)
  end)
end

local SUBCOMMANDS = { 'status', 'complete', 'skip', 'approve' }

--- Item ids that `sub` can act on, from the status the plugin holds.
local function candidates(sub)
  local st = client and client.status
  if not render.has_workflow(st) then
    return {}
  end
  local out = {}
  for _, item in ipairs(st.items or {}) do
    local open = item.status ~= 'completed' and item.status ~= 'skipped'
    local gate = item.verification == 'manual_gate'
    if (sub == 'complete' and open and not gate) or (sub == 'skip' and open) or (sub == 'approve' and open and gate) then
      table.insert(out, item.id)
    end
  end
  return out
end

--- Completion for :Orch.
function M.complete_command(arglead, cmdline)
  local args = vim.split(cmdline:sub(1, #cmdline - #arglead), '%s+', { trimempty = true })
  local words
  if #args <= 1 then
    words = SUBCOMMANDS
  elseif #args == 2 then
    if not client then
      vim.schedule(autoconnect)
    end
    words = candidates(args[2])
  else
    return {}
  end
  return vim.tbl_filter(function(w)
    return w:sub(1, #arglead) == arglead
  end, words)
end

--- :Orch {subcommand} [args]
function M.command(opts)
  local args = opts.fargs
  local sub = args[1] or 'status'
  if sub == 'status' then
    return M.status()
  elseif sub == 'complete' then
    if not args[2] then
      return notify(':Orch complete {item} [notes]: name the item', vim.log.levels.ERROR)
    end
    local notes = #args > 2 and table.concat(args, ' ', 3) or nil
    return M.complete(args[2], notes)
  elseif sub == 'skip' then
    if not args[2] or not args[3] then
      return notify(':Orch skip {item} {reason}: name the item and say why it is skipped', vim.log.levels.ERROR)
    end
    return M.skip(args[2], table.concat(args, ' ', 3))
  elseif sub == 'approve' then
    if #args > 2 then
      return notify(':Orch approve [item]: one item id, or none for the phase gate', vim.log.levels.ERROR)
    end
    return M.approve(args[2])
  end
  notify(('unknown subcommand %q; use status, complete, skip or approve'):format(sub), vim.log.levels.ERROR)
end

--- Follows a change of working directory into another repository.
function M._dir_changed()
  local root = client_mod.find_root(nil, M.config.root)
  if client and root ~= client.root then
    client:stop()
    client = nil
    attempted_root = nil
    status_changed()
    autoconnect()
  end
end

local defined = false

--- Defines :Orch and the autocommands the plugin needs (once).
function M.define_commands()
  if defined then
    return
  end
  defined = true
  vim.api.nvim_create_user_command('Orch', function(opts)
    M.command(opts)
  end, {
    nargs = '*',
    desc = 'orch: status, complete, skip, approve',
    complete = function(arglead, cmdline)
      return M.complete_command(arglead, cmdline)
    end,
  })
  local group = vim.api.nvim_create_augroup('orch', { clear = true })
  vim.api.nvim_create_autocmd('DirChanged', { group = group, callback = M._dir_changed })
  vim.api.nvim_create_autocmd('VimLeavePre', { group = group, callback = M._leave })
end

function M._leave()
  if client then
    client:stop()
  end
end

return M
