import { describe, expect, it } from 'vitest';
import { CERTS_USAGE } from '../../src/cli/certs.js';
import { COMMAND_HELP, EXIT_CODES, OVERVIEW } from '../../src/cli/help.js';

/** The commands the overview lists, by the first word of each of its command lines. */
function listedCommands(): string[] {
  const section = OVERVIEW.slice(OVERVIEW.indexOf('Commands:'), OVERVIEW.indexOf('\n\n', OVERVIEW.indexOf('Commands:')));
  return [...section.matchAll(/^ {2}([a-z-]+)/gm)].map((match) => match[1]!);
}

describe('CLI help', () => {
  it('has a page with examples for every command the overview lists', () => {
    const commands = listedCommands();
    expect(commands).toEqual(['run', 'broker', 'check', 'passwd', 'certs', 'import-mosquitto', 'schema', 'version']);
    for (const command of commands) {
      if (command === 'passwd') continue; // mosquitto_passwd's own usage text, kept as mosquitto prints it
      const page = command === 'certs' ? CERTS_USAGE : COMMAND_HELP[command];
      expect(page, command).toBeDefined();
      expect(page, command).toContain(`pi-edge-gateway ${command}`);
      if (command !== 'version') expect(page, command).toMatch(/Examples:\n {2}\S/);
    }
  });

  it('documents each exit code the CLI uses', () => {
    for (const code of ['0', '1', '2', '78']) expect(EXIT_CODES).toMatch(new RegExp(`^ {2}${code} `, 'm'));
  });
});
