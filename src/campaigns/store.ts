/**
 * Saved audiences (campaign.audience, campaign.audience_member; docs/campaigns.md): a definition
 * saved with the run it used, the time and the caller, its members frozen (golden keys) and a
 * control group drawn with a seed; what changed since against the latest run; and the export log
 * (campaign.audience_export). Writes go to the writable warehouse in one transaction each.
 */
import type { Model } from '../cube/index.ts';
import { runQuery } from '../cube/index.ts';
import type { Database } from '../db/duckdb.ts';
import { CrmBiError } from '../errors.ts';
import { Rng } from '../etl/synthetic/random.ts';
import {
  type Caller,
  checkValues,
  isTrue,
  latestRunOf,
  MAX_MEMBERS,
  memberStatement,
  securityOf,
} from './audience.ts';
import { EXPORT_COLUMNS } from './audience-query.ts';
import type { AudienceNode } from './definition.ts';

export const DEFAULT_CONTROL_SHARE = 0.1;

export interface SaveOptions {
  readonly name: string;
  readonly definition: AudienceNode;
  /** Share of members held out as the control group (0 to 0.9; default 0.1). */
  readonly controlShare?: number;
  readonly seed?: number;
  /** Who saves (a token's name or id, or the OS user on the CLI). */
  readonly createdBy: string;
}

export interface SavedAudience {
  readonly audience_id: number;
  readonly name: string;
  readonly run_id: number;
  readonly created_by: string;
  readonly control_share: number;
  readonly seed: number;
  readonly members: number;
  readonly control: number;
  readonly treated: number;
}

/** The golden keys of an audience's current members, in customer id order. */
export async function currentMemberKeys(
  db: Database,
  model: Model,
  caller: Caller,
  node: AudienceNode,
): Promise<number[]> {
  const statement = await memberStatement(db, model, caller, node, true);
  const keyIndex = EXPORT_COLUMNS.length;
  const keys: number[] = [];
  await db.stream(statement.sql, statement.params, async (rows) => {
    for (const row of rows) keys.push(Number(row[keyIndex]));
  });
  return keys;
}

/**
 * Which of `keys` form the control group: the first round(share × n) of a seeded Fisher–Yates
 * shuffle, so the same seed and members always give the same group.
 */
export function drawControl(keys: readonly number[], share: number, seed: number): Set<number> {
  const order = [...keys];
  const rng = new Rng(seed, 16);
  const k = Math.round(share * order.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (order.length - i));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return new Set(order.slice(0, k));
}

function checkSave(options: SaveOptions): { share: number; seed: number; name: string } {
  const name = options.name.trim();
  if (name.length === 0 || name.length > 200) {
    throw new CrmBiError('invalid_audience', 'name: give the audience a name of 1 to 200 characters', {
      path: 'name',
    });
  }
  const share = options.controlShare ?? DEFAULT_CONTROL_SHARE;
  if (!(share >= 0 && share <= 0.9)) {
    throw new CrmBiError('invalid_audience', `control_share: a share from 0 to 0.9, got ${share}`, {
      path: 'control_share',
    });
  }
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new CrmBiError('invalid_audience', `seed: a non-negative integer, got ${seed}`, { path: 'seed' });
  }
  return { share, seed, name };
}

/**
 * Saves an audience: members frozen now (the latest run, as `caller` sees them), the control group
 * drawn and stored, all in one transaction on the writable warehouse `db`.
 *
 * @example
 * await saveAudience(db, model, {}, { name: 'Win back EU', definition, controlShare: 0.1, seed: 7, createdBy: 'ana' });
 */
export async function saveAudience(
  db: Database,
  model: Model,
  caller: Caller,
  options: SaveOptions,
): Promise<SavedAudience> {
  const { share, seed, name } = checkSave(options);
  await checkValues(db, model, caller, options.definition);
  const run = await latestRunOf(db, model);
  const keys = await currentMemberKeys(db, model, caller, options.definition);
  if (keys.length > MAX_MEMBERS)
    throw new CrmBiError('too_large', `an audience holds at most ${MAX_MEMBERS} customers`);
  const control = drawControl(keys, share, seed);
  return db.transaction(async () => {
    const id = Number(await db.scalar('SELECT coalesce(max(audience_id), 0) + 1 FROM campaign.audience'));
    await db.run(`INSERT INTO campaign.audience VALUES ($1, $2, $3::JSON, $4, now(), $5, $6, $7, $8, $9)`, [
      id,
      name,
      JSON.stringify(options.definition),
      run.run_id,
      options.createdBy,
      share,
      seed,
      keys.length,
      control.size,
    ]);
    const appender = await db.connection.createAppender('audience_member', 'campaign');
    try {
      for (const key of keys) {
        appender.appendBigInt(BigInt(id));
        appender.appendBigInt(BigInt(key));
        appender.appendBoolean(control.has(key));
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    return {
      audience_id: id,
      name,
      run_id: run.run_id,
      created_by: options.createdBy,
      control_share: share,
      seed,
      members: keys.length,
      control: control.size,
      treated: keys.length - control.size,
    };
  });
}

export interface StoredAudience {
  readonly audience_id: number;
  readonly name: string;
  readonly definition: AudienceNode;
  readonly run_id: number;
  readonly created_at: string;
  readonly created_by: string;
  readonly control_share: number;
  readonly seed: number;
  /** Members the caller can see. */
  readonly members: number;
  readonly control: number;
}

/** The saved audiences with members the caller can see (counts within its regions), newest first. */
export async function listAudiences(db: Database, model: Model, caller: Caller): Promise<StoredAudience[]> {
  const res = await runQuery(
    db,
    model,
    {
      measures: ['audience_members.count'],
      dimensions: [
        'audience_members.audience_id',
        'audience_members.is_control',
        'audiences.name',
        'audiences.definition',
        'audiences.run_id',
        'audiences.created_at',
        'audiences.created_by',
        'audiences.control_share',
        'audiences.seed',
      ],
      limit: 50_000,
    },
    securityOf(caller),
  );
  if (!('data' in res)) throw new Error('plain query');
  const byId = new Map<number, StoredAudience & { members: number; control: number }>();
  for (const r of res.data as Record<string, unknown>[]) {
    const id = Number(r['audience_members.audience_id']);
    const entry = byId.get(id) ?? {
      audience_id: id,
      name: String(r['audiences.name']),
      definition: JSON.parse(String(r['audiences.definition'])) as AudienceNode,
      run_id: Number(r['audiences.run_id']),
      created_at: String(r['audiences.created_at']),
      created_by: String(r['audiences.created_by']),
      control_share: Number(r['audiences.control_share']),
      seed: Number(r['audiences.seed']),
      members: 0,
      control: 0,
    };
    const n = Number(r['audience_members.count']);
    entry.members += n;
    if (isTrue(r['audience_members.is_control'])) entry.control += n;
    byId.set(id, entry);
  }
  return [...byId.values()].sort((a, b) => b.audience_id - a.audience_id);
}

/** One saved audience as the caller sees it, or a 404. */
export async function getAudience(
  db: Database,
  model: Model,
  caller: Caller,
  id: number,
): Promise<StoredAudience> {
  const found = (await listAudiences(db, model, caller)).find((a) => a.audience_id === id);
  if (found === undefined) throw new CrmBiError('not_found', `no saved audience ${id} you can see`, {}, 404);
  return found;
}

export interface AudienceChanges {
  readonly audience_id: number;
  readonly saved_run_id: number;
  readonly latest_run_id: number;
  readonly stayed: number;
  readonly joined: number;
  readonly left: number;
  /** Up to 100 golden keys of each. */
  readonly joined_keys: readonly number[];
  readonly left_keys: readonly number[];
}

/** Who would join and who would leave a saved audience if its definition ran on the latest run now. */
export async function audienceChanges(
  db: Database,
  model: Model,
  caller: Caller,
  id: number,
): Promise<AudienceChanges> {
  const saved = await getAudience(db, model, caller, id);
  const res = await runQuery(
    db,
    model,
    {
      dimensions: ['audience_members.customer_durable_key'],
      filters: [{ member: 'audience_members.audience_id', operator: 'equals', values: [String(id)] }],
      ungrouped: true,
      limit: MAX_MEMBERS,
    },
    { ...securityOf(caller), maxLimit: MAX_MEMBERS },
  );
  if (!('data' in res)) throw new Error('plain query');
  const frozen = new Set(
    (res.data as Record<string, unknown>[]).map((r) => Number(r['audience_members.customer_durable_key'])),
  );
  const now = new Set(await currentMemberKeys(db, model, caller, saved.definition));
  const joined = [...now].filter((k) => !frozen.has(k));
  const left = [...frozen].filter((k) => !now.has(k));
  return {
    audience_id: id,
    saved_run_id: saved.run_id,
    latest_run_id: (await latestRunOf(db, model)).run_id,
    stayed: now.size - joined.length,
    joined: joined.length,
    left: left.length,
    joined_keys: joined.slice(0, 100),
    left_keys: left.slice(0, 100),
  };
}

export interface ExportRecord {
  readonly audienceId: number | null;
  readonly definition: AudienceNode;
  readonly runId: number;
  readonly format: string;
  readonly rows: number;
  readonly fileName: string;
  readonly exportedBy: string;
}

/** Records who exported what and when (campaign.audience_export). */
export async function recordExport(db: Database, record: ExportRecord): Promise<number> {
  return db.transaction(async () => {
    const id = Number(
      await db.scalar('SELECT coalesce(max(export_id), 0) + 1 FROM campaign.audience_export'),
    );
    await db.run(
      'INSERT INTO campaign.audience_export VALUES ($1, $2, $3::JSON, $4, $5, $6, $7, now(), $8)',
      [
        id,
        record.audienceId,
        JSON.stringify(record.definition),
        record.runId,
        record.format,
        record.rows,
        record.fileName,
        record.exportedBy,
      ],
    );
    return id;
  });
}
