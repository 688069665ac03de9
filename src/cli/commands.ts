import type { Command } from 'commander';
import { register as load } from './load.ts';

/** Every subcommand registers itself here (one file per subcommand in src/cli/). */
export const COMMANDS: readonly ((program: Command) => void)[] = [load];
