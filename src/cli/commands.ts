import type { Command } from 'commander';
import { register as audience } from './audience.ts';
import { register as demo } from './demo.ts';
import { register as exportAudience } from './export-audience.ts';
import { register as generate } from './generate.ts';
import { register as load } from './load.ts';
import { register as loads } from './loads.ts';
import { register as meta } from './meta.ts';
import { register as mine } from './mine.ts';
import { register as query } from './query.ts';
import { register as resolve } from './resolve.ts';
import { register as seedPostgres } from './seed-postgres.ts';
import { register as serve } from './serve.ts';
import { register as sql } from './sql.ts';
import { register as sync } from './sync.ts';
import { register as token } from './token.ts';

/** Every subcommand registers itself here (one file per subcommand in src/cli/). */
export const COMMANDS: readonly ((program: Command) => void)[] = [
  demo,
  generate,
  load,
  resolve,
  mine,
  exportAudience,
  query,
  meta,
  sql,
  token,
  serve,
  sync,
  seedPostgres,
  loads,
  audience,
];
