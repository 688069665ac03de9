import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands.ts';

const program = new Command('crm-bi')
  .description(
    'Analytical CRM: load CRM data into a DuckDB warehouse, slice it with a cube, mine customer value',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

for (const register of COMMANDS) register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // commander already printed its message; help and version exit 0
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    throw e;
  }
}
