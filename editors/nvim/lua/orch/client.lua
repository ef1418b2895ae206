-- The connection to the repository's orch daemon: finds the socket in `.orchestrator/daemon.json`
-- as the CLI does (never a derived path), starts the daemon with `orch daemon start` when none
-- answers, says hello as kind `editor`, subscribes to live updates, keeps the current session's
-- status, and reconnects after the daemon restarts (with a bounded backoff).
local uv = vim.loop
local rpc = require('orch.rpc')

local M = {}

M.PROTOCOL_VERSION = 1
M.VERSION = '0.1.0'

local RECONNECT_FIRST_MS = 50
local RECONNECT_MAX_MS = 2000
-- Failed `orch daemon start` runs in a row before the plugin stops trying until the next command.
local MAX_FAILED_STARTS = 3

local function is_file(path)
  local st = uv.fs_lstat(path)
  return st ~= nil and st.type == 'file'
end

--- The repository root, as the CLI finds it: `root` if given, else $ORCH_ROOT, else the nearest
--- folder from `cwd` up holding `.git` or `workflow.yaml`; realpath'd. Nil outside any repository.
function M.find_root(cwd, root)
  root = root or vim.env.ORCH_ROOT
  if root and root ~= '' then
    return uv.fs_realpath(vim.fn.fnamemodify(root, ':p'))
  end
  local dir = uv.fs_realpath(cwd or uv.cwd())
  while dir do
    if uv.fs_stat(dir .. '/.git') or uv.fs_stat(dir .. '/workflow.yaml') then
      return dir
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return nil
    end
    dir = parent
  end
  return nil
end

--- The daemon's registration, or nil. Never read through a link: a planted daemon.json could name
--- any socket.
function M.read_registration(root)
  local file = root .. '/.orchestrator/daemon.json'
  if not is_file(file) then
    return nil
  end
  local lst = uv.fs_lstat(file)
  local fd = uv.fs_open(file, 'r', 0)
  if not fd then
    return nil
  end
  local st = uv.fs_fstat(fd)
  -- The file opened must be the one checked above, not a link swapped in between.
  local same = st and lst and st.ino == lst.ino and st.dev == lst.dev
  local data = same and st.size < 1024 * 1024 and uv.fs_read(fd, st.size, 0) or nil
  uv.fs_close(fd)
  if not data then
    return nil
  end
  local ok, reg = pcall(vim.json.decode, data, { luanil = { object = true, array = true } })
  if not ok or type(reg) ~= 'table' or type(reg.socketPath) ~= 'string' or type(reg.pid) ~= 'number' then
    return nil
  end
  return reg
end

local Client = {}
Client.__index = Client

--- opts: root, cmd (list), session, autostart, on_status(status, prev, why), on_event(kind, info).
function M.new(opts)
  return setmetatable({
    opts = opts,
    root = opts.root,
    conn = nil,
    state = 'idle', -- idle | connecting | connected | waiting (to reconnect) | failed
    status = nil,
    instance_id = nil,
    announced = nil,
    waiters = {},
    failed_starts = 0,
    timer = nil,
    delay = RECONNECT_FIRST_MS,
    stopped = false,
  }, Client)
end

function Client:_emit(kind, info)
  if self.opts.on_event then
    self.opts.on_event(kind, info or {})
  end
end

function Client:_status_params()
  if self.opts.session then
    return { sessionId = self.opts.session }
  end
  return vim.empty_dict()
end

--- Sets the status shown; `why` says where it came from (`read`, `change`, `own`).
function Client:set_status(status, why, extra)
  local prev = self.status
  self.status = status
  if self.opts.on_status then
    self.opts.on_status(status, prev, why, extra)
  end
end

--- Re-reads the status of the session followed (the repo's current one unless pinned).
function Client:refresh(cb)
  if not self.conn then
    return cb and cb({ message = 'not connected' })
  end
  self.conn:request('session/status', self:_status_params(), function(err, result)
    if not err then
      self:set_status(result, 'read')
    end
    if cb then
      cb(err, result)
    end
  end)
end

function Client:_on_notification(method, params)
  params = params or {}
  self.last_notification = { method = method, at = params.at }
  if method == 'session/didChange' then
    local followed = self.status and self.status.sessionId
    if params.status and (params.sessionId == followed or (self.opts.session and params.sessionId == self.opts.session)) then
      self:set_status(params.status, 'change', { external = params.external })
    elseif followed == nil and not self.opts.session then
      self:refresh()
    end
  elseif method == 'session/didSwitch' or method == 'session/didCreate' or method == 'session/didRemove' then
    if not self.opts.session or params.sessionId == self.opts.session then
      self:refresh()
    end
  elseif method == 'subscription/resync' then
    self:refresh()
  elseif method == 'daemon/willShutdown' then
    self.announced = tostring(params.reason or 'stopping')
  end
end

function Client:_on_close(reason)
  self.conn = nil
  if self.stopped then
    return
  end
  -- A daemon that crashed announces it too ("crashed (…)"): no one wished that, so restart it.
  local deliberate = self.announced ~= nil and not self.announced:match('^crashed')
  local announced = self.announced
  self.announced = nil
  self.state = 'waiting'
  self.delay = RECONNECT_FIRST_MS
  self:_emit('disconnected', { reason = announced or reason, deliberate = deliberate })
  -- After a deliberate stop (`orch daemon stop`, `restart`) wait for a daemon someone else starts;
  -- a daemon that vanished without a word is started again.
  self:_schedule_reconnect(not deliberate and self.opts.autostart)
end

function Client:_schedule_reconnect(may_start)
  if self.stopped then
    return
  end
  if self.timer then
    self.timer:stop()
    if not self.timer:is_closing() then
      self.timer:close()
    end
  end
  local timer = uv.new_timer()
  self.timer = timer
  timer:start(self.delay, 0, function()
    if not timer:is_closing() then
      timer:close()
    end
    vim.schedule(function()
      if self.timer ~= timer then
        return
      end
      self.timer = nil
      if self.stopped or self.state == 'connected' then
        return
      end
      if self.state == 'connecting' then
        -- A command is connecting right now: look again after it.
        return self:_schedule_reconnect(may_start)
      end
      self:_attempt(may_start, function(err)
        if err and self.state ~= 'connected' then
          self.state = 'waiting'
          self.delay = math.min(self.delay * 2, RECONNECT_MAX_MS)
          self:_schedule_reconnect(may_start and self.failed_starts < MAX_FAILED_STARTS)
        end
      end)
    end)
  end)
end

--- Runs `orch daemon start` for the root; `cb(err)`.
function Client:_start_daemon(cb)
  local cmd = vim.list_extend(vim.deepcopy(self.opts.cmd), { 'daemon', 'start', '--root', self.root })
  local output = {}
  local function collect(_, data)
    for _, line in ipairs(data or {}) do
      if line ~= '' then
        table.insert(output, line)
      end
    end
  end
  local ok, job = pcall(vim.fn.jobstart, cmd, {
    cwd = self.root,
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = collect,
    on_stderr = collect,
    on_exit = function(_, code)
      if code == 0 then
        self.failed_starts = 0
        cb(nil)
      else
        self.failed_starts = self.failed_starts + 1
        cb({ message = ('`%s daemon start` failed (exit %d): %s'):format(table.concat(self.opts.cmd, ' '), code, table.concat(output, ' ')) })
      end
    end,
  })
  if not ok or job <= 0 then
    self.failed_starts = self.failed_starts + 1
    cb({ message = ('cannot run %s: set the orch command with require("orch").setup({ cmd = { ... } })'):format(vim.inspect(self.opts.cmd)) })
  end
end

--- Connects to the registered daemon and says hello, subscribes, reads the status. `cb(err)`.
function Client:_connect_existing(cb)
  local reg = M.read_registration(self.root)
  if not reg then
    return cb({ message = 'no orch daemon is registered for ' .. self.root, absent = true })
  end
  local mine
  rpc.connect(reg.socketPath, {
    on_notification = function(method, params)
      if mine and self.conn == mine then
        self:_on_notification(method, params)
      end
    end,
    on_close = function(reason)
      if mine and self.conn == mine then
        self:_on_close(reason)
      end
    end,
  }, function(err, conn)
    mine = conn
    if err then
      return cb({ message = 'cannot reach the orch daemon at ' .. reg.socketPath .. ': ' .. tostring(err), absent = true })
    end
    local hello = {
      protocolVersion = M.PROTOCOL_VERSION,
      clientVersion = M.VERSION,
      client = {
        kind = 'editor',
        name = 'orch.nvim',
        version = M.VERSION,
        pid = vim.fn.getpid(),
        cwd = uv.cwd(),
        agent = vim.env.ORCH_ACTOR_KIND == 'agent',
      },
    }
    if self.opts.session then
      hello.client.sessionId = self.opts.session
    end
    conn:request('daemon/hello', hello, function(herr, result)
      if not herr and result and result.protocolVersion ~= M.PROTOCOL_VERSION then
        herr = {
          message = ('the daemon (pid %s, orch %s) speaks protocol %s; this plugin speaks %d: update the plugin, or run an orch command to replace the daemon'):format(
            tostring(result.pid), tostring(result.daemonVersion), tostring(result.protocolVersion), M.PROTOCOL_VERSION),
        }
      end
      if herr then
        conn:close()
        return cb(herr)
      end
      self.conn = conn
      local previous = self.instance_id
      self.instance_id = result.instanceId
      local sub = self.opts.session and { sessionId = self.opts.session } or vim.empty_dict()
      conn:request('session/subscribe', sub, function(serr)
        if serr then
          self.conn = nil
          conn:close()
          return cb(serr)
        end
        self:refresh(function(rerr)
          if rerr and self.conn ~= conn then
            return cb(rerr)
          end
          self.state = 'connected'
          self.delay = RECONNECT_FIRST_MS
          self:_emit('connected', { instanceId = result.instanceId, restarted = previous ~= nil and previous ~= result.instanceId, reconnect = previous ~= nil })
          cb(nil)
        end)
      end)
    end)
  end)
end

--- One attempt: the registered daemon, else (when `may_start`) a new one. `cb(err)`.
function Client:_attempt(may_start, cb)
  self.state = 'connecting'
  self:_connect_existing(function(err)
    if not err or not err.absent or not may_start then
      if err then
        self.state = 'waiting'
      end
      return cb(err)
    end
    self:_start_daemon(function(serr)
      if serr then
        self.state = 'waiting'
        return cb(serr)
      end
      self:_connect_existing(function(cerr)
        if cerr then
          self.state = 'waiting'
        end
        cb(cerr)
      end)
    end)
  end)
end

--- Calls `cb(err, conn)` once connected, connecting first (and starting the daemon when
--- `may_start`) if needed. Concurrent callers share one attempt.
function Client:ensure(may_start, cb)
  if self.state == 'connected' and self.conn then
    return cb(nil, self.conn)
  end
  table.insert(self.waiters, cb)
  if #self.waiters > 1 then
    return
  end
  self.stopped = false
  self.failed_starts = 0
  self:_attempt(may_start, function(err)
    local waiters = self.waiters
    self.waiters = {}
    for _, w in ipairs(waiters) do
      w(err, self.conn)
    end
    if err and self.state ~= 'connected' then
      if self.instance_id and not self.stopped then
        -- It was connected before: keep looking for a daemon in the background.
        self.state = 'waiting'
        self:_schedule_reconnect(false)
      else
        self.state = 'failed'
      end
      self:_emit('failed', { message = err.message })
    end
  end)
end

--- Sends a request, connecting (and starting the daemon) first if needed. `cb(err, result)`.
function Client:request(method, params, cb)
  self:ensure(self.opts.autostart, function(err, conn)
    if err then
      return cb(err)
    end
    conn:request(method, params, cb)
  end)
end

function Client:stop()
  self.stopped = true
  if self.timer then
    self.timer:stop()
    if not self.timer:is_closing() then
      self.timer:close()
    end
    self.timer = nil
  end
  if self.conn then
    local conn = self.conn
    self.conn = nil
    conn:close()
  end
  self.state = 'idle'
end

return M
