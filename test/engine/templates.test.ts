import { describe, expect, test } from '@jest/globals';
import { OrchError } from '../../daemon/errors.js';
import { substitute, substituteForCommand } from '../../daemon/engine/templates.js';

const settings = { docs_dir: 'docs', test_command: 'npm test', retries: 3, strict: true, unsafe: 'a; b', nothing: null };

describe('substitute', () => {
  test('replaces {{name}} with the setting and leaves unknown names as written', () => {
    expect(substitute('{{docs_dir}}/plan.md', settings)).toBe('docs/plan.md');
    expect(substitute('{{missing}}/x {{ docs_dir }}', settings)).toBe('{{missing}}/x {{ docs_dir }}');
    expect(substitute('{{retries}} {{strict}}', settings)).toBe('3 true');
    expect(substitute('{{nothing}}', settings)).toBe('{{nothing}}');
  });

  test('does not read inherited properties as settings', () => {
    expect(substitute('{{constructor}} {{toString}}', settings)).toBe('{{constructor}} {{toString}}');
  });

  test('plain substitution keeps unsafe characters (paths are not run)', () => {
    expect(substitute('{{unsafe}}', settings)).toBe('a; b');
  });
});

describe('substituteForCommand', () => {
  test('substitutes safe values, including spaces', () => {
    expect(substituteForCommand('{{test_command}} --ci', settings)).toBe('npm test --ci');
  });

  test.each([';', '&', '|', '`', '$', '(', ')', '{', '}', '[', ']', '<', '>', '\\', '!', '\n', '\r'])(
    'refuses a value containing %j and names the setting',
    (ch) => {
      let caught: unknown;
      try {
        substituteForCommand('run {{evil}}', { evil: `x${ch}y` });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(OrchError);
      expect((caught as OrchError).errorName).toBe('InvalidWorkflow');
      expect((caught as OrchError).details).toMatchObject({ setting: 'evil' });
    },
  );

  test('text written in the command itself is not checked here', () => {
    expect(substituteForCommand('echo $HOME', settings)).toBe('echo $HOME');
  });
});
