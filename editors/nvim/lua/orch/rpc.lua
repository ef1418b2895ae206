-- JSON-RPC 2.0 over a Unix socket with vscode-jsonrpc's framing (`Content-Length: N\r\n\r\n` then N
-- bytes of JSON), on vim.loop pipes. Callbacks of `on_notification`, `on_close` and request
-- handlers run on the main loop (vim.schedule), never in a fast event, so they may call any API.
local uv = vim.loop

local M = {}

-- Refuse frames larger than this: a status of a thousand items is a few hundred KiB.
M.MAX_FRAME_BYTES = 16 * 1024 * 1024
local MAX_HEADER_BYTES = 8192
local CONNECT_TIMEOUT_MS = 2000

local function decode(body)
  return pcall(vim.json.decode, body, { luanil = { object = true, array = true } })
end

local Conn = {}
Conn.__index = Conn

--- Opens `path`; `cb(err, conn)` runs on the main loop. `handlers.on_notification(method, params)`
--- and `handlers.on_close(reason)` are called for the connection's life.
function M.connect(path, handlers, cb)
  local pipe = uv.new_pipe(false)
  local self = setmetatable({
    pipe = pipe,
    next_id = 1,
    pending = {},
    buf = '',
    closed = false,
    handlers = handlers or {},
  }, Conn)
  local settled = false
  local timer = uv.new_timer()
  local function settle(err)
    if settled then
      return
    end
    settled = true
    timer:stop()
    timer:close()
    vim.schedule(function()
      if err then
        self.closed = true
        if not pipe:is_closing() then
          pipe:close()
        end
        cb(err)
      else
        cb(nil, self)
      end
    end)
  end
  timer:start(CONNECT_TIMEOUT_MS, 0, function()
    settle('timed out connecting to ' .. path)
  end)
  local ok, err = pcall(pipe.connect, pipe, path, function(cerr)
    if settled then
      -- Timed out already: the pipe is closed.
      return
    end
    if cerr then
      return settle(cerr)
    end
    pipe:read_start(function(rerr, chunk)
      -- Keep the order: every chunk is handled on the main loop, one after the other.
      vim.schedule(function()
        if rerr then
          self:_close('read failed: ' .. tostring(rerr))
        elseif chunk then
          self:_feed(chunk)
        else
          self:_close('the daemon closed the connection')
        end
      end)
    end)
    settle(nil)
  end)
  if not ok then
    settle(tostring(err))
  end
end

function Conn:_feed(chunk)
  if self.closed then
    return
  end
  self.buf = self.buf .. chunk
  while true do
    local sep = self.buf:find('\r\n\r\n', 1, true)
    if not sep then
      if #self.buf > MAX_HEADER_BYTES then
        return self:_close('a frame header longer than ' .. MAX_HEADER_BYTES .. ' bytes')
      end
      return
    end
    local header = self.buf:sub(1, sep - 1)
    local len = tonumber(header:match('[Cc]ontent%-[Ll]ength:%s*(%d+)'))
    if not len then
      return self:_close('a frame without Content-Length')
    end
    if len > M.MAX_FRAME_BYTES then
      return self:_close('a frame of ' .. len .. ' bytes, over the limit of ' .. M.MAX_FRAME_BYTES)
    end
    local start = sep + 4
    if #self.buf < start + len - 1 then
      return
    end
    local body = self.buf:sub(start, start + len - 1)
    self.buf = self.buf:sub(start + len)
    local ok, msg = decode(body)
    if not ok or type(msg) ~= 'table' then
      return self:_close('a frame that is not JSON')
    end
    self:_dispatch(msg)
    if self.closed then
      return
    end
  end
end

function Conn:_dispatch(msg)
  if msg.method and msg.id == nil then
    if self.handlers.on_notification then
      self.handlers.on_notification(msg.method, msg.params)
    end
  elseif msg.method then
    -- The daemon sends no requests; answer any with MethodNotFound, as JSON-RPC asks.
    self:_send({ jsonrpc = '2.0', id = msg.id, error = { code = -32601, message = 'Unhandled method ' .. tostring(msg.method) } })
  elseif msg.id ~= nil then
    local cb = self.pending[msg.id]
    self.pending[msg.id] = nil
    if cb then
      cb(msg.error, msg.result)
    end
  elseif msg.error then
    -- An id-less error: the daemon's last word before closing (too many connections, hello first).
    self.refusal = msg.error
  end
end

function Conn:_send(msg)
  local body = vim.json.encode(msg)
  self.pipe:write('Content-Length: ' .. #body .. '\r\n\r\n' .. body)
end

--- Sends a request; `cb(err, result)` runs on the main loop. `err` is the JSON-RPC error object
--- (`{code, message, data}`), or `{code = -32099, message = ...}` when the connection is lost.
function Conn:request(method, params, cb)
  if self.closed then
    return cb({ code = -32099, message = 'not connected to the orch daemon' })
  end
  local id = self.next_id
  self.next_id = id + 1
  self.pending[id] = cb
  local ok, err = pcall(self._send, self, {
    jsonrpc = '2.0',
    id = id,
    method = method,
    params = params or vim.empty_dict(),
  })
  if not ok then
    self.pending[id] = nil
    cb({ code = -32099, message = 'could not send to the orch daemon: ' .. tostring(err) })
  end
end

function Conn:_close(reason)
  if self.closed then
    return
  end
  self.closed = true
  if self.pipe and not self.pipe:is_closing() then
    self.pipe:read_stop()
    self.pipe:close()
  end
  local pending = self.pending
  self.pending = {}
  local lost = self.refusal and self.refusal.message or ('connection to the orch daemon lost (' .. reason .. ')')
  for _, cb in pairs(pending) do
    cb({ code = -32099, message = lost })
  end
  if self.handlers.on_close then
    self.handlers.on_close(self.refusal and self.refusal.message or reason)
  end
end

--- Closes the connection on purpose (no on_close callback).
function Conn:close()
  self.handlers = {}
  self:_close('closed')
end

return M
