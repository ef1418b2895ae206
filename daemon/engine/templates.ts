/**
 * `{{name}}` substitution from workflow settings (reference §1.5). Paths use plain substitution;
 * commands use the checked form, because a setting is data a repository author controls and must
 * not be able to smuggle shell syntax into a command the daemon runs.
 */
import { OrchError } from '../errors.js';

const TEMPLATE = /\{\{(\w+)\}\}/g;

/** The characters the Python tool refused in values substituted into commands. */
const UNSAFE_FOR_COMMAND = /[;&|`$(){}[\]<>\\!\n\r]/;

/** The text form of a setting, or undefined when the placeholder should stay as written. */
function settingText(settings: Record<string, unknown>, key: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(settings, key)) return undefined;
  const value = settings[key];
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Replaces each `{{name}}` with `settings[name]`; unknown names are left as they are. */
export function substitute(text: string, settings: Record<string, unknown>): string {
  return text.replace(TEMPLATE, (whole, key: string) => settingText(settings, key) ?? whole);
}

/**
 * Like {@link substitute}, but refuses (`InvalidWorkflow`) any substituted value containing shell
 * metacharacters, naming the setting. Text written directly in the command is not checked here:
 * the command parser refuses operators separately.
 */
export function substituteForCommand(text: string, settings: Record<string, unknown>): string {
  return text.replace(TEMPLATE, (whole, key: string) => {
    const value = settingText(settings, key);
    if (value === undefined) return whole;
    if (UNSAFE_FOR_COMMAND.test(value)) {
      throw new OrchError(
        'InvalidWorkflow',
        `Unsafe characters in setting '${key}': ${JSON.stringify(value)}; remove shell metacharacters ` +
          '(; & | ` $ ( ) { } [ ] < > \\ ! and newlines) from that setting in the workflow file.',
        { setting: key, value },
      );
    }
    return value;
  });
}
