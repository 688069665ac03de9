import type { Command } from 'commander';

/** Every subcommand registers itself here (one file per subcommand in src/cli/). */
export const COMMANDS: readonly ((program: Command) => void)[] = [];
