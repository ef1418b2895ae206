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

const TOP_KEYS = ['name', 'version', 'description', 'phases', 'settings'];
const PHASE_KEYS = ['id', 'name', 'description', 'agent', 'executor', 'items', 'exit_gate', 'notes',
  'required_reviews', 'phase_type', 'intended_tools'];
const ITEM_KEYS = ['id', 'name', 'description', 'required', 'skippable', 'skip_conditions', 'verification',
  'agent', 'notes', 'step_type', 'evidence_schema', 'evidence_prompt'];
const VERIFICATION_KEYS = ['type', 'path', 'command', 'expect_exit_code', 'description'];
const STEP_TYPES = ['gate', 'required', 'documented', 'flexible'];
const VERIFICATION_TYPES = ['none', 'file_exists', 'command', 'manual_gate'];
const PHASE_TYPES = ['strict', 'guided', 'autonomous'];
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
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new OrchError('WorkflowNotFound', `Workflow file not found: ${absPath}.`, { file: absPath });
    }
    throw err;
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
  for (const e of doc.errors) v.errors.push(v.yamlMessage(e.message, e.linePos?.[0], 'YAML syntax error'));
  for (const w of doc.warnings) v.warnings.push(v.yamlMessage(w.message, w.linePos?.[0], 'YAML warning'));
  let data: unknown;
  if (v.errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      v.error([], `cannot be read: ${(err as Error).message}`);
    }
    if (v.errors.length === 0) v.checkTop(data);
  }
  if (v.errors.length > 0) {
    const list = v.errors.map((e) => `\n  - ${e}`).join('');
    throw new OrchError('InvalidWorkflow', `${fileLabel} is not a valid workflow (${v.errors.length} problem${v.errors.length === 1 ? '' : 's'}):${list}`, {
      file: fileLabel,
      errors: v.errors,
    });
  }
  return { def: applyValidators(workflowDefFrom(data as Rec)), warnings: v.warnings };
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

class Validator {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  private readonly itemIds = new Map<string, string>();

  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly text: string,
  ) {}

  yamlMessage(message: string, pos: { line: number; col: number } | undefined, kind: string): string {
    const first = (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    return `${this.file}:${pos?.line ?? 1}:${pos?.col ?? 1}: ${kind}: ${first}`;
  }

  error(path: Path, message: string, atKey = false): void {
    this.errors.push(`${this.where(path, atKey)}: ${pathText(path) || 'top level'}: ${message}`);
  }

  checkTop(value: unknown): void {
    if (!isRec(value)) {
      this.error([], 'must be a mapping with name, version and phases (the file is empty or holds something else)');
      return;
    }
    this.unknownKeys(value, [], TOP_KEYS);
    this.requiredString(value, [], 'name');
    if (value.version !== undefined && typeof value.version !== 'string') {
      const hint = typeof value.version === 'number' ? `; quote it, e.g. version: "${this.source(['version'])}"` : '';
      this.error(['version'], `must be a string${hint}`);
    }
    this.optionalString(value, [], 'description');
    const settings = value.settings ?? {};
    if (!isRec(settings)) this.error(['settings'], 'must be a mapping of setting names to values');
    else this.jsonValues(settings, ['settings']);
    if (!Array.isArray(value.phases) || value.phases.length === 0) {
      this.error(['phases'], 'must be a non-empty list of phases (each with id, name and items)', value.phases === undefined);
      return;
    }
    const phaseIds = new Set<string>();
    value.phases.forEach((p, i) => this.checkPhase(p, ['phases', i], phaseIds, isRec(settings) ? settings : {}));
  }

  private checkPhase(phase: unknown, path: Path, seen: Set<string>, settings: Rec): void {
    if (!isRec(phase)) return this.error(path, 'must be a mapping with id, name and items');
    this.unknownKeys(phase, path, PHASE_KEYS);
    if (this.requiredString(phase, path, 'id')) {
      const id = phase.id as string;
      if (!isPythonUpper(id)) {
        this.error([...path, 'id'], `must be upper-case (at least one letter, no lower-case letters), e.g. PLAN or PLAN_2; got ${JSON.stringify(id)}`);
      } else if (seen.has(id)) this.error([...path, 'id'], `duplicates phase id ${JSON.stringify(id)}; phase ids must be unique`);
      seen.add(id);
    }
    this.requiredString(phase, path, 'name');
    for (const key of ['description', 'agent', 'executor']) this.optionalString(phase, path, key);
    if (phase.exit_gate !== undefined && phase.exit_gate !== null && phase.exit_gate !== 'human_approval') {
      this.error([...path, 'exit_gate'], `must be human_approval or null; got ${JSON.stringify(phase.exit_gate)}`);
    }
    for (const key of ['notes', 'required_reviews', 'intended_tools']) this.stringList(phase, path, key);
    this.oneOf(phase, path, 'phase_type', PHASE_TYPES);
    const items = phase.items ?? [];
    if (!Array.isArray(items)) return this.error([...path, 'items'], 'must be a list of checklist items');
    items.forEach((item, i) => this.checkItem(item, [...path, 'items', i], settings));
  }

  private checkItem(item: unknown, path: Path, settings: Rec): void {
    if (!isRec(item)) return this.error(path, 'must be a mapping with id and name');
    this.unknownKeys(item, path, ITEM_KEYS);
    if (this.requiredString(item, path, 'id')) this.checkItemId(item.id as string, [...path, 'id']);
    this.requiredString(item, path, 'name');
    for (const key of ['description', 'agent', 'evidence_schema', 'evidence_prompt']) this.optionalString(item, path, key);
    for (const key of ['required', 'skippable']) {
      if (item[key] !== undefined && typeof item[key] !== 'boolean') this.error([...path, key], 'must be true or false');
    }
    for (const key of ['skip_conditions', 'notes']) this.stringList(item, path, key);
    this.oneOf(item, path, 'step_type', STEP_TYPES);
    if (item.verification !== undefined) this.checkVerification(item.verification, [...path, 'verification'], settings);
  }

  private checkItemId(id: string, path: Path): void {
    if (!/^[\p{L}\p{N}_]*[\p{L}\p{N}][\p{L}\p{N}_]*$/u.test(id) || id === '__proto__') {
      return this.error(path, `must contain only letters, digits and underscores (no hyphens or spaces); got ${JSON.stringify(id)}`);
    }
    const first = this.itemIds.get(id);
    if (first !== undefined) return this.error(path, `duplicates item id ${JSON.stringify(id)} (first used at ${first}); item ids must be unique across the workflow`);
    this.itemIds.set(id, pathText(path));
    // State files keep items in a JS object, where integer-like keys always sort first.
    if (/^(0|[1-9]\d*)$/.test(id)) this.warn(path, `item id ${JSON.stringify(id)} is all digits, so it will be listed before the other items in state.json; prefer a name`);
  }

  private checkVerification(ver: unknown, path: Path, settings: Rec): void {
    if (!isRec(ver)) return this.error(path, 'must be a mapping with a type (none, file_exists, command or manual_gate)');
    this.unknownKeys(ver, path, VERIFICATION_KEYS);
    this.oneOf(ver, path, 'type', VERIFICATION_TYPES);
    for (const key of ['path', 'command', 'description']) this.optionalString(ver, path, key);
    if (ver.expect_exit_code !== undefined && !Number.isInteger(ver.expect_exit_code)) {
      this.error([...path, 'expect_exit_code'], 'must be an integer exit code (default 0)');
    }
    for (const [type, key] of [['file_exists', 'path'], ['command', 'command']] as const) {
      if (ver.type === type && (typeof ver[key] !== 'string' || ver[key].trim() === '')) {
        this.error(ver[key] === undefined ? path : [...path, key], `type ${type} needs a non-empty ${key}`);
      }
    }
    for (const key of ['path', 'command']) {
      const value = ver[key];
      if (typeof value !== 'string') continue;
      for (const m of value.matchAll(TEMPLATE_VAR)) {
        if (!Object.hasOwn(settings, m[1] as string)) this.warn([...path, key], `{{${m[1]}}} is not defined in settings, so it will be left as-is`);
      }
    }
  }

  private requiredString(obj: Rec, path: Path, key: string): boolean {
    if (typeof obj[key] === 'string') return true;
    const missing = obj[key] === undefined || obj[key] === null;
    this.error(missing ? path : [...path, key], missing ? `${key} is required (a string)` : `${key} must be a string`);
    return false;
  }

  private optionalString(obj: Rec, path: Path, key: string): void {
    const value = obj[key];
    if (value !== undefined && value !== null && typeof value !== 'string') this.error([...path, key], 'must be a string or null');
  }

  private stringList(obj: Rec, path: Path, key: string): void {
    const value = obj[key];
    if (value === undefined) return;
    if (!Array.isArray(value)) return this.error([...path, key], 'must be a list of strings');
    value.forEach((s, i) => {
      if (typeof s !== 'string') this.error([...path, key, i], 'must be a string');
    });
  }

  private oneOf(obj: Rec, path: Path, key: string, allowed: string[]): void {
    const value = obj[key];
    if (value !== undefined && !allowed.includes(value as string)) {
      this.error([...path, key], `must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
    }
  }

  private jsonValues(value: unknown, path: Path): void {
    if (Array.isArray(value)) return value.forEach((v, i) => this.jsonValues(v, [...path, i]));
    if (isRec(value)) return Object.entries(value).forEach(([k, v]) => this.jsonValues(v, [...path, k]));
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
      this.error(path, 'must be a string, number, boolean, null, list or mapping (state files hold JSON)');
    }
  }

  private unknownKeys(obj: Rec, path: Path, known: string[]): void {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) {
        this.warn([...path, key], `unknown key ${JSON.stringify(key)} is ignored (known keys: ${known.join(', ')})`, true);
      }
    }
  }

  private warn(path: Path, message: string, atKey = false): void {
    this.warnings.push(`${this.where(path, atKey)}: ${pathText(path)}: ${message}`);
  }

  private where(path: Path, atKey: boolean): string {
    const node = this.locate(path, atKey);
    const { line, col } = this.lines.linePos(node?.range?.[0] ?? 0);
    return `${this.file}:${line}:${col}`;
  }

  private source(path: Path): string {
    const range = this.locate(path, false)?.range;
    return range ? this.text.slice(range[0], range[1]).trim() : '';
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
