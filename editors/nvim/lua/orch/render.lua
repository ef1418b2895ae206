-- Text for the statusline and the `:Orch status` buffer, with the marks of the CLI's `orch status`.
local M = {}

M.MARKS = {
  completed = '✓',
  skipped = '⊘',
  in_progress = '●',
  failed = '✗',
  blocked = '✗',
  pending = '○',
}

--- True when `status` describes a workflow (not "no workflow").
function M.has_workflow(status)
  return type(status) == 'table' and status.workflowId ~= nil
end

--- Items done (completed or skipped) and total of the current phase.
function M.counts(status)
  local p = status.phaseProgress or {}
  return (p.completed or 0) + (p.skipped or 0), p.total or 0
end

--- `orch PLAN 1/2`, with `gate_mark` when a gate waits for a person; `orch -` without a workflow.
function M.statusline(status, gate_mark)
  if type(status) ~= 'table' then
    return ''
  end
  if not M.has_workflow(status) then
    return 'orch -'
  end
  if status.status == 'completed' then
    return 'orch done'
  end
  if status.status == 'abandoned' then
    return 'orch abandoned'
  end
  local done, total = M.counts(status)
  local s = ('orch %s %d/%d'):format(status.phase, done, total)
  if status.waitingForPerson then
    s = s .. ' ' .. gate_mark
  end
  if status.status == 'paused' then
    s = s .. ' paused'
  end
  return s
end

local function approved_by(a)
  return ('approved by %s (%s)'):format(tostring(a.by), tostring(a.channel))
end

local function item_line(item)
  local line = ('  %s %s %s — %s'):format(M.MARKS[item.status] or '○', item.required and '*' or ' ', item.id, item.name or '')
  if item.approvedBy then
    line = line .. ' — ' .. approved_by(item.approvedBy)
  end
  local lines = { line }
  if item.status == 'skipped' and item.skipReason then
    table.insert(lines, '        └─ skipped: ' .. item.skipReason)
  elseif item.status == 'failed' then
    lines[1] = lines[1] .. '   (verification failed)'
  end
  return lines
end

--- The `orch status` block as lines (the checklist of the current phase, blockers, next action).
function M.status_lines(status)
  if not M.has_workflow(status) then
    return {
      'No active workflow. ' .. tostring(status and status.reason or ''),
      'NEXT_ACTION: ' .. tostring(status and status.nextAction or 'orch start "<task>"'),
    }
  end
  local index = 0
  for i, p in ipairs(status.phases or {}) do
    if p.id == status.phase then
      index = i
    end
  end
  local pp = status.phaseProgress or {}
  local progress = ('Progress: %d/%d items in this phase'):format(pp.completed or 0, pp.total or 0)
  if (pp.skipped or 0) > 0 then
    progress = progress .. (' (%d skipped)'):format(pp.skipped)
  end
  progress = progress .. (', %d/%d overall'):format(status.progress and status.progress.completed or 0, status.progress and status.progress.total or 0)
  local lines = {
    'Task: ' .. tostring(status.task),
    ('Session: %s   Workflow: %s (%s)   Status: %s'):format(status.sessionId or '(legacy files)', tostring(status.workflowName), tostring(status.workflowId), tostring(status.status)),
    ('Phase: %s - %s (%d/%d)'):format(status.phase, tostring(status.phaseName), index, #(status.phases or {})),
    progress,
  }
  if status.constraints and #status.constraints > 0 then
    table.insert(lines, 'Constraints:')
    for _, c in ipairs(status.constraints) do
      table.insert(lines, '  - ' .. c)
    end
  end
  table.insert(lines, '')
  table.insert(lines, 'Checklist (* = required):')
  for _, item in ipairs(status.items or {}) do
    vim.list_extend(lines, item_line(item))
  end
  if status.phaseApprovedBy then
    table.insert(lines, '')
    table.insert(lines, ('Phase %s %s'):format(status.phase, approved_by(status.phaseApprovedBy)))
  end
  if status.blockers and #status.blockers > 0 then
    table.insert(lines, '')
    table.insert(lines, 'Blockers: ' .. table.concat(status.blockers, ', '))
  end
  table.insert(lines, '')
  if status.waitingForPerson then
    table.insert(lines, 'Waiting for a person: ' .. status.waitingForPerson)
  end
  table.insert(lines, 'NEXT_ACTION: ' .. tostring(status.nextAction))
  -- Buffer lines may not contain newlines.
  local out = {}
  for _, l in ipairs(lines) do
    vim.list_extend(out, vim.split(l, '\n', { plain = true }))
  end
  return out
end

--- The person's next step in editor terms: `orch approve-item x` is `:Orch approve x`.
function M.person_step(cmd)
  local item = cmd:match('^orch approve%-item (%S+)$')
  if item then
    return ':Orch approve ' .. item
  end
  if cmd:match('^orch approve$') then
    return ':Orch approve'
  end
  return cmd
end

--- What changed between two statuses of the same session, as short phrases (for vim.notify).
function M.changes(prev, status)
  if not M.has_workflow(prev) or not M.has_workflow(status) or prev.sessionId ~= status.sessionId then
    return {}
  end
  local out = {}
  if prev.phase ~= status.phase then
    table.insert(out, ('phase %s → %s'):format(prev.phase, status.phase))
  else
    local before = {}
    for _, item in ipairs(prev.items or {}) do
      before[item.id] = item.status
    end
    for _, item in ipairs(status.items or {}) do
      if before[item.id] ~= item.status then
        local what = item.id .. ' ' .. tostring(item.status)
        if item.approvedBy then
          what = what .. ' (' .. approved_by(item.approvedBy) .. ')'
        elseif item.status == 'skipped' and item.skipReason then
          what = what .. ': ' .. item.skipReason
        end
        table.insert(out, what)
      end
    end
    if not prev.phaseApprovedBy and status.phaseApprovedBy then
      table.insert(out, ('phase %s %s'):format(status.phase, approved_by(status.phaseApprovedBy)))
    end
  end
  if prev.status ~= status.status then
    table.insert(out, 'workflow ' .. tostring(status.status))
  end
  if status.waitingForPerson and status.waitingForPerson ~= prev.waitingForPerson then
    table.insert(out, 'waiting for a person: ' .. M.person_step(status.waitingForPerson))
  end
  return out
end

return M
