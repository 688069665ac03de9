/**
 * Cube errors. Every user mistake is a `CrmBiError` with a stable code; the codes are listed here
 * so the API can map them and tests can assert them.
 */
import { CrmBiError, type ErrorPlace } from '../errors.ts';

export type CubeErrorCode =
  | 'model_invalid'
  | 'model_not_found'
  | 'invalid_json'
  | 'invalid_query'
  | 'unknown_member'
  | 'wrong_member_kind'
  | 'invalid_operator'
  | 'invalid_filter_value'
  | 'invalid_date'
  | 'invalid_date_range'
  | 'invalid_granularity'
  | 'invalid_timezone'
  | 'invalid_order'
  | 'invalid_calculation'
  | 'invalid_subtotals'
  | 'mixed_filter'
  | 'query_too_deep'
  | 'query_too_large'
  | 'limit_too_large'
  | 'no_join_path'
  | 'security_denied'
  | 'unsupported'
  | 'invalid_drill'
  | 'invalid_pivot'
  | 'result_too_large';

export function cubeError(code: CubeErrorCode, message: string, place: ErrorPlace = {}): CrmBiError {
  return new CrmBiError(code, message, place);
}

/** One problem found in a model file: the file, the path inside it, what is wrong. */
export interface ModelProblem {
  readonly file: string;
  readonly path: string;
  readonly line?: number;
  readonly message: string;
}

/** All problems of a model, thrown at once after validation collected them. */
export class ModelError extends CrmBiError {
  readonly problems: readonly ModelProblem[];

  constructor(problems: readonly ModelProblem[]) {
    const lines = problems.map(formatProblem);
    const head =
      problems.length === 1 ? 'semantic model is invalid' : `semantic model has ${problems.length} problems`;
    const first = problems[0];
    super('model_invalid', `${head}: ${lines.join('; ')}`, first ? placeOf(first) : {});
    this.name = 'ModelError';
    this.problems = problems;
  }
}

function placeOf(p: ModelProblem): ErrorPlace {
  return p.line === undefined ? { file: p.file, path: p.path } : { file: p.file, path: p.path, line: p.line };
}

export function formatProblem(p: ModelProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}
