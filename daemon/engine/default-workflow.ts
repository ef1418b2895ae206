/**
 * orch's own bundled workflow: used when a repo has no workflow.yaml, and written out by
 * `orch init`. Its comments are the format's tutorial, so they explain every field a user meets.
 * Parse it with `loadDefaultWorkflow()` from workflow-loader.ts (kept there so this file stays a
 * dependency-free leaf and the two modules do not import each other).
 */

/** Label used in messages about the bundled workflow (it has no path on disk). */
export const DEFAULT_WORKFLOW_LABEL = '<bundled default workflow>';

export const DEFAULT_WORKFLOW_YAML = `# orch workflow: the checklist an agent (or a person) works through, phase by phase.
# orch reads ./workflow.yaml when it exists; edit this file to fit your project.
# A running workflow keeps the copy it started with, so edits apply from the next \`orch start\`.

name: "orch default workflow"   # shown in status; required
version: "1.0"                  # a string: quote it, or YAML reads 1.0 as a number
description: "Plan, build, review, verify, then record what was learned."

# settings: free-form values. {{name}} in a verification path or command is replaced by the
# setting with that name, so one workflow fits many repos.
settings:
  test_command: "npm test"      # used by the run_tests and full_test_suite gates
  docs_dir: "docs"              # where the plan is written
  tests_dir: "tests"            # where tests live (mentioned in item descriptions)
  command_timeout_seconds: 300  # how long a verification command may run
  approvals:
    allow_agent: false          # true lets an AI agent approve manual gates and phases itself;
                                # false: it waits with \`orch wait\` while a person approves

# phases run in order; \`orch advance\` moves to the next one once no required item is open.
# Each phase has:
#   id          upper-case, e.g. PLAN or PLAN_2 (required)
#   name        shown in status (required)
#   description, notes (a list; a "[tip]" or "[caution]" prefix is shown as a marker)
#   exit_gate   human_approval makes \`orch advance\` wait for a person's \`orch approve\`; omit it otherwise
#   phase_type  strict | guided | autonomous (default guided; informational)
#   items       the checklist, in order
# Each item has:
#   id          letters, digits and underscores; unique in the whole workflow (required)
#   name        short title (required); description says what "done" means
#   step_type   flexible (default): skip with a reason of 10+ characters
#               documented: skip only with a reason of 50+ characters
#               required: must be completed, never skipped
#               gate: must be completed; a command verification must exit 0
#   required    false means the item never blocks advancing (default true)
#   skippable   false forbids skipping (default true)
#   verification  what \`orch complete\` checks:
#               {type: none} (default), {type: file_exists, path: ...},
#               {type: command, command: ..., expect_exit_code: 0}, or
#               {type: manual_gate, description: ...} which waits for a person's
#               \`orch approve-item <id>\` (an agent runs \`orch wait --item <id>\` meanwhile)
phases:
  - id: PLAN
    name: "Plan"
    description: "Understand the task and agree on an approach before changing code."
    notes:
      - "[tip] Ask questions early; a wrong assumption costs more later."
    items:
      - id: clarify_requirements
        name: "Clarify requirements"
        description: "Restate the task in your own words and list open questions with a recommended answer for each."
        skip_conditions: ["requirements_already_clear"]   # informational: when skipping is reasonable

      - id: write_plan
        name: "Write the plan"
        description: "Write the approach, the files to change and the tests to add to docs/plan.md (docs_dir setting)."
        step_type: required
        verification:
          type: file_exists
          path: "{{docs_dir}}/plan.md"

      - id: risk_notes
        name: "Note the risks"
        description: "List what could break and how the change limits it (in the plan or in notes)."
        step_type: documented

      - id: plan_approval
        name: "Plan approved"
        description: "A person reads the plan and approves it before work starts."
        step_type: gate
        verification:
          type: manual_gate
          description: "Approve with: orch approve-item plan_approval"

  - id: EXECUTE
    name: "Execute"
    description: "Make the change, test first where you can."
    items:
      - id: write_tests
        name: "Write tests"
        description: "Add or update tests (in the tests_dir folder) that fail without the change."

      - id: implement
        name: "Implement the change"
        description: "Make the smallest change that satisfies the plan."
        step_type: required

      - id: run_tests
        name: "Tests pass"
        description: "The test command exits 0."
        step_type: gate
        verification:
          type: command
          command: "{{test_command}}"

  - id: REVIEW
    name: "Review"
    description: "Look at the change as a reviewer would."
    items:
      - id: self_review
        name: "Review your own diff"
        description: "Read the whole diff: naming, error handling, leftovers, missing tests."
        step_type: required

      - id: review_changes
        name: "Get a second review"
        description: "Ask another person or agent to review the diff and record what they found."
        step_type: documented

      - id: address_feedback
        name: "Address review findings"
        description: "Fix what the reviews found, or note why a finding stays."

  - id: VERIFY
    name: "Verify"
    description: "Check the finished change end to end."
    items:
      - id: full_test_suite
        name: "Full test suite passes"
        description: "The whole test suite exits 0 after all changes."
        step_type: gate
        verification:
          type: command
          command: "{{test_command}}"

      - id: manual_check
        name: "Try it by hand"
        description: "Run the feature the way a user would."
        required: false

  - id: LEARN
    name: "Learn"
    description: "Leave the repo better informed for the next task."
    items:
      - id: record_learnings
        name: "Record learnings"
        description: "Write down what went well, what went wrong and what to do differently."
        step_type: documented

      - id: update_docs
        name: "Update the docs"
        description: "Update the README, changelog or other docs the change affects."
        required: false
`;
