import type { Command } from 'commander';
import { modelMeta } from '../cube/meta.ts';
import { defaultModelDir, loadModel } from '../cube/model/load.ts';
import { action, printJson, withDb, withJson } from './common.ts';

interface MetaFlags {
  readonly db: string;
  readonly json: boolean;
  readonly model?: string;
}

/** `crm-bi meta`: the semantic model's cubes, members, hierarchies and rollups. */
export function register(program: Command): void {
  const cmd = program
    .command('meta')
    .description('list the semantic model: cubes, measures, dimensions, segments, hierarchies')
    .option('--model <dir>', 'semantic model folder (default: the shipped model/)');
  withJson(withDb(cmd)).action(
    action(async (flags: MetaFlags) => {
      const meta = modelMeta(await loadModel(flags.model ?? defaultModelDir()));
      if (flags.json) {
        printJson(meta);
        return;
      }
      const out: string[] = [];
      for (const cube of meta.cubes) {
        out.push(`${cube.name} — ${cube.title}${cube.description ? `: ${cube.description}` : ''}`);
        for (const m of cube.measures) {
          out.push(`  measure    ${m.name} (${m.aggType}${m.format ? `, ${m.format}` : ''})  ${m.title}`);
        }
        for (const d of cube.dimensions) {
          out.push(`  dimension  ${d.name} (${d.type}${d.format ? `, ${d.format}` : ''})  ${d.title}`);
        }
        for (const s of cube.segments) out.push(`  segment    ${s.name}  ${s.title}`);
        for (const h of cube.hierarchies) out.push(`  hierarchy  ${h.name}: ${h.levels.join(' → ')}`);
        for (const p of cube.preAggregations) {
          out.push(
            `  rollup     ${p.name}: ${p.measures.length} measures by ${[...p.dimensions, ...(p.timeDimension ? [`${p.timeDimension}.${p.granularity}`] : [])].join(', ')}`,
          );
        }
      }
      process.stdout.write(`${out.join('\n')}\n`);
    }),
  );
}
