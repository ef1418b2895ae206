/**
 * Reads and validates `workflow.yaml` (the Python tool's `src/schema.py`, reference §1) into the
 * fully-defaulted `WorkflowDef` that gets frozen into state. Unlike Pydantic, every problem is
 * reported at once with file:line:col, and unknown keys are warnings rather than silently dropped.
 *
 * YAML is read as 1.1 (PyYAML's dialect), so `yes`/`no` are booleans and `<<` merges work as they do
 * for the Python tool; implicit timestamps are left as strings because state files hold only JSON.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { OrchError } from '../errors.js';
import { DEFAULT_WORKFLOW_LABEL, DEFAULT_WORKFLOW_YAML } from './default-workflow.js';
import { workflowDefFrom } from './state-factory.js';
import type { WorkflowDef } from './types.js';

export interface ParsedWorkflow {
  def: WorkflowDef;
  /** One line each, `file:line:col: …`; never fatal. */
  warnings: string[];
}

export interface LoadedWorkflowFile extends ParsedWorkflow {
  /** `workflowFileChecksum` of the bytes that were parsed (state `metadata.workflow_yaml_checksum`). */
  checksum: string;
}

type Path = (string | number)[];
type Rec = Record<string, unknown>;

// How each known key is checked, in the model's field order: `text` is a required string, `text?` a
// string or null, `texts` a list of strings, an array lists the allowed values, `nested` has its own
// method. Any other key is unknown and gets a warning.
type Check = 'text' | 'text?' | 'texts' | 'bool' | 'int' | 'nested' | readonly (string | null)[];
const TOP: Record<string, Check> = { name: 'text', version: 'nested', description: 'text?', phases: 'nested', settings: 'nested' };
const PHASE: Record<string, Check> = {
  id: 'text', name: 'text', description: 'text?', agent: 'text?', executor: 'text?', items: 'nested',
  exit_gate: [null, 'human_approval'], notes: 'texts', required_reviews: 'texts',
  phase_type: ['strict', 'guided', 'autonomous'], intended_tools: 'texts',
};
const ITEM: Record<string, Check> = {
  id: 'text', name: 'text', description: 'text?', required: 'bool', skippable: 'bool', skip_conditions: 'texts',
  verification: 'nested', agent: 'text?', notes: 'texts', step_type: ['gate', 'required', 'documented', 'flexible'],
  evidence_schema: 'text?', evidence_prompt: 'text?', expect_changes: 'texts',
};
const VERIFICATION: Record<string, Check> = {
  type: ['none', 'file_exists', 'command', 'manual_gate'], path: 'text?', command: 'text?', expect_exit_code: 'int',
  description: 'text?',
};
/** `settings.approvals`: who may give a person's sign-off. */
const APPROVALS: Record<string, Check> = { allow_agent: 'nested' };
const TEMPLATE_VAR = /\{\{(\w+)\}\}/g;

/** The Python `workflow_yaml_checksum`: the first 16 hex chars of sha256 over the file's bytes. */
export function workflowFileChecksum(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** Reads and validates a workflow file. `WorkflowNotFound` if absent, `InvalidWorkflow` if invalid. */
export async function loadWorkflowFile(absPath: string): Promise<LoadedWorkflowFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(absPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new OrchError('WorkflowNotFound', `Workflow file not found: ${absPath}.`, { file: absPath });
  }
  return { ...parseWorkflowText(bytes.toString('utf8'), absPath), checksum: workflowFileChecksum(bytes) };
}

/** orch's bundled workflow (default-workflow.ts), parsed afresh so callers may keep the result. */
export function loadDefaultWorkflow(): ParsedWorkflow {
  return parseWorkflowText(DEFAULT_WORKFLOW_YAML, DEFAULT_WORKFLOW_LABEL);
}

/** Validates workflow YAML text; `fileLabel` names the file in every message. */
export function parseWorkflowText(text: string, fileLabel: string): ParsedWorkflow {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    version: '1.1',
    customTags: (tags) => tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
  });
  const v = new Validator(fileLabel, doc, lineCounter, text);
  for (const e of doc.errors) v.yamlProblem(v.errs, e.message, e.linePos?.[0], 'YAML syntax error');
  for (const w of doc.warnings) v.yamlProblem(v.warns, w.message, w.linePos?.[0], 'YAML warning');
  // Validation needs a syntactically sound document; alias bombs make toJS throw.
  const data = v.errs.length === 0 ? v.toJS() : undefined;
  if (v.errs.length === 0) v.checkTop(data);
  if (v.errs.length > 0) {
    const errors = sorted(v.errs);
    const list = errors.map((e) => `\n  - ${e}`).join('');
    const count = `${errors.length} problem${errors.length === 1 ? '' : 's'}`;
    throw new OrchError('InvalidWorkflow', `${fileLabel} is not a valid workflow (${count}):${list}`, { file: fileLabel, errors });
  }
  return { def: applyValidators(workflowDefFrom(data as Rec)), warnings: sorted(v.warns) };
}

// Pydantic's validators: gate/required steps can never be optional or skipped, and a manual gate
// without skip_conditions cannot be skipped either.
function applyValidators(def: WorkflowDef): WorkflowDef {
  for (const phase of def.phases) {
    for (const item of phase.items) {
      if (item.step_type === 'gate' || item.step_type === 'required') {
        item.required = true;
        item.skippable = false;
      }
      if (item.verification.type === 'manual_gate' && item.skip_conditions.length === 0) item.skippable = false;
    }
  }
  return def;
}

type Finding = { line: number; col: number; text: string };

// Problems are reported in file order, whatever order the checks ran in.
function sorted(findings: Finding[]): string[] {
  return [...findings].sort((a, b) => a.line - b.line || a.col - b.col).map((f) => f.text);
}

class Validator {
  readonly errs: Finding[] = [];
  readonly warns: Finding[] = [];
  private readonly itemIds = new Map<string, string>();

  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly text: string,
  ) {}

  yamlProblem(list: Finding[], message: string, pos: { line: number; col: number } | undefined, kind: string): void {
    const first = (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    const { line, col } = pos ?? { line: 1, col: 1 };
    list.push({ line, col, text: `${this.file}:${line}:${col}: ${kind}: ${first}` });
  }

  toJS(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      return this.error([], `cannot be read: ${(err as Error).message}`);
    }
  }

  error(path: Path, message: string, atKey = false): void {
    this.add(this.errs, path, atKey, `${pathText(path) || 'top level'}: ${message}`);
  }

  private warn(path: Path, message: string, atKey = false): void {
    this.add(this.warns, path, atKey, `${pathText(path)}: ${message}`);
  }

  private add(list: Finding[], path: Path, atKey: boolean, text: string): void {
    const { line, col } = this.lines.linePos(this.locate(path, atKey)?.range?.[0] ?? 0);
    list.push({ line, col, text: `${this.file}:${line}:${col}: ${text}` });
  }

  checkTop(value: unknown): void {
    if (!isRec(value)) {
      return this.error([], 'must be a mapping with name, version and phases (the file is empty or holds something else)');
    }
    this.checkFields(value, [], TOP);
    if (value.version !== undefined && typeof value.version !== 'string') {
      const hint = typeof value.version === 'number' ? `; quote it, e.g. version: "${this.source(['version'])}"` : '';
      this.error(['version'], `must be a string${hint}`);
    }
    const settings = value.settings ?? {};
    if (!isRec(settings)) this.error(['settings'], 'must be a mapping of setting names to values');
    else {
      this.jsonValues(settings, ['settings']);
      if (settings.approvals !== undefined) this.checkApprovals(settings.approvals);
      this.checkEvidenceSettings(settings.evidence);
    }
    if (!Array.isArray(value.phases) || value.phases.length === 0) {
      return this.error(['phases'], 'must be a non-empty list of phases (each with id, name and items)', value.phases === undefined);
    }
    const phaseIds = new Set<string>();
    value.phases.forEach((p, i) => this.checkPhase(p, ['phases', i], phaseIds, isRec(settings) ? settings : {}));
  }

  private checkApprovals(approvals: unknown): void {
    const path = ['settings', 'approvals'];
    if (!isRec(approvals)) return this.error(path, 'must be a mapping, e.g. approvals: {allow_agent: false}');
    this.checkFields(approvals, path, APPROVALS);
    if (approvals.allow_agent !== undefined && typeof approvals.allow_agent !== 'boolean') {
      this.error([...path, 'allow_agent'], `must be true or false (whether an AI agent may approve a person's gates); got ${JSON.stringify(approvals.allow_agent)}`);
    }
  }

  // settings.evidence.ignore: globs whose changes never make a check's evidence stale.
  private checkEvidenceSettings(ev: unknown): void {
    if (ev === undefined) return;
    if (!isRec(ev)) return this.error(['settings', 'evidence'], 'must be a mapping, e.g. evidence: {ignore: ["docs/**"]}');
    const ignore = ev.ignore;
    if (ignore !== undefined && (!Array.isArray(ignore) || ignore.some((g) => typeof g !== 'string'))) {
      this.error(['settings', 'evidence', 'ignore'], 'must be a list of glob strings, e.g. ["docs/**", "*.log"]');
    }
  }

  private checkPhase(phase: unknown, path: Path, seen: Set<string>, settings: Rec): void {
    if (!isRec(phase)) return this.error(path, 'must be a mapping with id, name and items');
    this.checkFields(phase, path, PHASE);
    const id = typeof phase.id === 'string' ? phase.id : null;
    const upper = 'must be upper-case (a letter, no lower-case letters), e.g. PLAN or PLAN_2';
    if (id !== null && !isPythonUpper(id)) this.error([...path, 'id'], `${upper}; got ${JSON.stringify(id)}`);
    else if (id !== null && seen.has(id)) this.error([...path, 'id'], `duplicates phase id ${JSON.stringify(id)}; phase ids must be unique`);
    if (id !== null) seen.add(id);
    const items = phase.items ?? [];
    if (!Array.isArray(items)) return this.error([...path, 'items'], 'must be a list of checklist items');
    items.forEach((item, i) => this.checkItem(item, [...path, 'items', i], settings));
  }

  private checkItem(item: unknown, path: Path, settings: Rec): void {
    if (!isRec(item)) return this.error(path, 'must be a mapping with id and name');
    this.checkFields(item, path, ITEM);
    if (typeof item.id === 'string') this.checkItemId(item.id, [...path, 'id']);
    if (item.verification !== undefined) this.checkVerification(item.verification, [...path, 'verification'], settings);
  }

  private checkItemId(id: string, path: Path): void {
    const quoted = JSON.stringify(id);
    if (!/^[\p{L}\p{N}_]*[\p{L}\p{N}][\p{L}\p{N}_]*$/u.test(id) || id === '__proto__') {
      return this.error(path, `must contain only letters, digits and underscores (no hyphens or spaces); got ${quoted}`);
    }
    const first = this.itemIds.get(id);
    if (first !== undefined) {
      return this.error(path, `duplicates item id ${quoted} (first used at ${first}); item ids must be unique across the workflow`);
    }
    this.itemIds.set(id, pathText(path));
    // State files keep items in a JS object, where integer-like keys always come first.
    if (/^(0|[1-9]\d*)$/.test(id)) this.warn(path, `item id ${quoted} is all digits, so state.json will list it before the other items`);
  }

  private checkVerification(ver: unknown, path: Path, settings: Rec): void {
    if (!isRec(ver)) return this.error(path, 'must be a mapping with a type (none, file_exists, command or manual_gate)');
    this.checkFields(ver, path, VERIFICATION);
    for (const [type, key] of [['file_exists', 'path'], ['command', 'command']] as const) {
      const value = ver[key];
      if (ver.type === type && (typeof value !== 'string' || value.trim() === '')) {
        this.error(value === undefined ? path : [...path, key], `type ${type} needs a non-empty ${key}`);
      }
      for (const m of typeof value === 'string' ? value.matchAll(TEMPLATE_VAR) : []) {
        if (!Object.hasOwn(settings, m[1] as string)) this.warn([...path, key], `{{${m[1]}}} is not defined in settings, so it is left as-is`);
      }
    }
  }

  private checkFields(obj: Rec, path: Path, fields: Record<string, Check>): void {
    for (const key of Object.keys(obj)) {
      if (!Object.hasOwn(fields, key)) {
        this.warn([...path, key], `unknown key ${JSON.stringify(key)} is ignored (known keys: ${Object.keys(fields).join(', ')})`, true);
      }
    }
    for (const [key, check] of Object.entries(fields)) {
      const value = obj[key];
      const at = [...path, key];
      if (check === 'text' && typeof value !== 'string') {
        if (value === undefined || value === null) this.error(path, `${key} is required (a string)`);
        else this.error(at, 'must be a string');
      } else if (value === undefined || check === 'text' || check === 'nested') {
        continue;
      } else if (Array.isArray(check)) {
        if (!check.includes(value as string)) this.error(at, `must be one of ${check.map(String).join(', ')}; got ${JSON.stringify(value)}`);
      } else if (check === 'text?' && value !== null && typeof value !== 'string') {
        this.error(at, 'must be a string or null');
      } else if (check === 'bool' && typeof value !== 'boolean') {
        this.error(at, 'must be true or false');
      } else if (check === 'int' && !Number.isInteger(value)) {
        this.error(at, 'must be an integer (default 0)');
      } else if (check === 'texts') {
        if (!Array.isArray(value)) this.error(at, 'must be a list of strings');
        else value.forEach((s, i) => typeof s !== 'string' && this.error([...at, i], 'must be a string'));
      }
    }
  }

  private jsonValues(value: unknown, path: Path): void {
    if (Array.isArray(value)) return value.forEach((v, i) => this.jsonValues(v, [...path, i]));
    if (isRec(value)) return Object.entries(value).forEach(([k, v]) => this.jsonValues(v, [...path, k]));
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
      this.error(path, 'must be a string, number, boolean, null, list or mapping (state files hold JSON)');
    }
  }

  private source(path: Path): string {
    const range = this.locate(path, false)?.range ?? [0, 0];
    return this.text.slice(range[0], range[1]).trim();
  }

  // The node at `path` (or its key), else the deepest ancestor found: merges and aliases can hide
  // a value's own position, and then the nearest enclosing one is still useful.
  private locate(path: Path, atKey: boolean): Node | null {
    let node: unknown = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(node)) node = node.resolve(this.doc);
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(path[i]));
        if (pair && atKey && i === path.length - 1) return pair.key as Node;
        next = pair ? (pair.value ?? pair.key) : undefined;
      } else if (isSeq(node) && typeof path[i] === 'number') {
        next = node.items[path[i] as number];
      }
      if (!next) break;
      node = next;
    }
    return (node as Node | null) ?? null;
  }
}

function isRec(value: unknown): value is Rec {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function pathText(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

// Python's str.isupper(): at least one cased character, and none lower-case or title-case.
function isPythonUpper(s: string): boolean {
  return /\p{Uppercase}/u.test(s) && !/[\p{Lowercase}\p{Lt}]/u.test(s);
}
