import { describe, expect, it } from 'vitest';
import type { TableMapping } from './schema.ts';
import { addShardFigures, figureChecks } from './sync-figures.ts';
import { columnsHash, keepsFigures, type StoredFigures, usableStored } from './sync-stored.ts';
import { mapColumn } from './types.ts';

const lines: TableMapping = {
  schema: 'core',
  table: 'fact_order_line',
  columns: [
    ['order_id', 'VARCHAR'],
    ['customer_durable_key', 'BIGINT'],
    ['revenue', 'DECIMAL(18,4)'],
    ['load_id', 'INTEGER'],
  ].map(([c, type]) => mapColumn('core.fact_order_line', c as string, type as string, true)),
  placement: 'customer',
  shardingKey: 'rand()',
};
const labels = figureChecks(lines, 'full').map((c) => c.label);

function stored(figures: string[], over: Partial<StoredFigures> = {}): StoredFigures {
  return { state: 'live', syncId: 's1', columns: columnsHash(lines), labels, figures, ...over };
}

// figures per shard, in the order of the labels:
// rows, order_id:count, order_id:bytes, key:count, key:sum, revenue:count, revenue:sum, load_id:count, load_id:sum
const shard1 = ['2', '2', '6', '2', '3', '2', '30.5', '2', '2'];
const shard2 = ['1', '1', '3', '1', '2', '1', '-4.25', '1', '1'];
// the keys figures the compare reads from each shard's live table: rows, key:sum, load_id:sum, mark
const live1 = ['2', '3', '2', '1'];
const live2 = ['1', '2', '1', '1'];

describe('stored figures of a live table', () => {
  it('lists the full figures in a fixed order', () => {
    expect(labels).toEqual([
      'rows',
      'order_id:count',
      'order_id:bytes',
      'customer_durable_key:count',
      'customer_durable_key:sum',
      'revenue:count',
      'revenue:sum',
      'load_id:count',
      'load_id:sum',
    ]);
    expect(figureChecks(lines, 'keys').map((c) => c.label)).toEqual([
      'rows',
      'customer_durable_key:sum',
      'load_id:sum',
      'mark:max',
    ]);
  });

  it('stand for the live table when every shard holds a finished row of one sync that agrees with its keys figures', () => {
    expect(usableStored(lines, [stored(shard1), stored(shard2)], [live1, live2])).toEqual({
      figures: [shard1, shard2],
    });
  });

  it('are not used when missing, unfinished, from two syncs, for other columns, or not agreeing with the live table', () => {
    const reason = (s: (StoredFigures | undefined)[], live = [live1, live2]) => {
      const r = usableStored(lines, s, live, ['1', '2']);
      return 'reason' in r ? r.reason : 'used';
    };
    expect(reason([])).toBe('no stored figures');
    expect(reason([stored(shard1), undefined])).toBe('no stored figures on shard 2');
    expect(reason([stored(shard1), stored([], { state: 'swapping', syncId: 's2' })])).toBe(
      'the sync s2 did not finish storing them on shard 2',
    );
    expect(reason([stored(shard1), stored(shard2, { syncId: 's2' })])).toBe(
      'stored by different syncs (s1, s2)',
    );
    expect(reason([stored(shard1, { columns: 'other' }), stored(shard2)])).toBe(
      'stored for other columns on shard 1',
    );
    // shard 2 lost a row on the cluster since: its live row count no longer matches
    expect(reason([stored(shard1), stored(shard2)], [live1, ['0', '0', '0', '']])).toBe(
      'they disagree with the live table on shard 2 (rows: stored 1, live 0)',
    );
    // a re-pointed key shows in its sum
    expect(reason([stored(shard1), stored(shard2)], [['2', '4', '2', '1'], live2])).toBe(
      'they disagree with the live table on shard 1 (customer_durable_key:sum: stored 3, live 4)',
    );
  });

  it('plus the new rows give the staging copy: counts and integer sums exactly, amounts as doubles', () => {
    const checks = figureChecks(lines, 'full');
    // shard 1 receives one new line: order 'o100' (4 bytes), key 9007199254740993 (2^53 + 1), -0.75, load 2
    const delta1 = ['1', '1', '4', '1', '9007199254740993', '1', '-0.75', '1', '2'];
    const delta2 = ['0', '0', '0', '0', '0', '0', '0', '0', '0'];
    const perShard = [addShardFigures(checks, [shard1, delta1]), addShardFigures(checks, [shard2, delta2])];
    expect(perShard[0]).toEqual(['3', '3', '10', '3', '9007199254740996', '3', '29.75', '3', '4']);
    expect(perShard[1]).toEqual(shard2);
    expect(addShardFigures(checks, perShard)).toEqual([
      '4',
      '4',
      '13',
      '4',
      '9007199254740998',
      '4',
      '25.5',
      '4',
      '5',
    ]);
  });

  it('are kept for sharded tables with a load or run id, not for meta.* or replicated tables', () => {
    expect(keepsFigures(lines)).toBe(true);
    expect(keepsFigures({ ...lines, schema: 'meta', table: 'etl_load' })).toBe(false);
    expect(keepsFigures({ ...lines, placement: 'replicated' })).toBe(false);
    expect(keepsFigures({ ...lines, columns: lines.columns.filter((c) => c.name !== 'load_id') })).toBe(
      false,
    );
  });
});
