/**
 * The `telco` profile: IBM's Telco customer churn sample (one CSV, one row per customer, a snapshot
 * without dates). Rules (docs/profiles.md):
 * - Customer = customerID (a repeat is `duplicate_key`); name, email and geography are not in the
 *   source (NULL); segment = 'senior' when SeniorCitizen is 1, 'non-senior' when 0.
 * - One subscription per customer: contract = Contract, tenure_months = tenure, monthly_charges =
 *   MonthlyCharges, total_charges = TotalCharges, payment_method = PaymentMethod, churned = Churn
 *   (Yes/No). A blank TotalCharges is NULL when tenure is 0 (a customer not billed yet: the 11 such
 *   rows are loaded); blank with tenure > 0 is `missing_value`.
 * - attributes = a JSON object of the other columns, keyed by their source names, with their text as
 *   given (SeniorCitizen as the number 0/1): gender, SeniorCitizen, Partner, Dependents,
 *   PhoneService, MultipleLines, InternetService, OnlineSecurity, OnlineBackup, DeviceProtection,
 *   TechSupport, StreamingTV, StreamingMovies, PaperlessBilling.
 * - Categorical columns must hold their known values (case-insensitive; `invalid_value` otherwise);
 *   numbers are checked as numbers (tenure a whole number of months, 0–1200; charges ≥ 0).
 * No orders or products: the source has none.
 */
import { quoteIdent, quoteLiteral } from '../../db/duckdb.ts';
import type { ColumnSpec } from '../canonical.ts';
import { readValidated, recordsRead } from '../extract/read-file.ts';
import { markDuplicateKeys, recordRowRejects } from '../rejects.ts';
import { customerColumns, emitAll, pickCsvFile } from './derive.ts';
import type { ExtractContext, ExtractResult, Profile } from './profile.ts';

const YES_NO = ['yes', 'no'] as const;
const PHONE_DEPENDENT = ['yes', 'no', 'no phone service'] as const;
const INTERNET_DEPENDENT = ['yes', 'no', 'no internet service'] as const;

const SPECS: readonly ColumnSpec[] = [
  { name: 'customerID', type: 'id', required: true },
  { name: 'gender', type: 'enum', values: ['male', 'female'] },
  { name: 'SeniorCitizen', type: 'enum', required: true, values: ['0', '1'] },
  { name: 'Partner', type: 'enum', values: YES_NO },
  { name: 'Dependents', type: 'enum', values: YES_NO },
  { name: 'tenure', type: 'int', required: true, min: 0, max: 1200 },
  { name: 'PhoneService', type: 'enum', values: YES_NO },
  { name: 'MultipleLines', type: 'enum', values: PHONE_DEPENDENT },
  { name: 'InternetService', type: 'enum', values: ['dsl', 'fiber optic', 'no'] },
  { name: 'OnlineSecurity', type: 'enum', values: INTERNET_DEPENDENT },
  { name: 'OnlineBackup', type: 'enum', values: INTERNET_DEPENDENT },
  { name: 'DeviceProtection', type: 'enum', values: INTERNET_DEPENDENT },
  { name: 'TechSupport', type: 'enum', values: INTERNET_DEPENDENT },
  { name: 'StreamingTV', type: 'enum', values: INTERNET_DEPENDENT },
  { name: 'StreamingMovies', type: 'enum', values: INTERNET_DEPENDENT },
  { name: 'Contract', type: 'enum', values: ['month-to-month', 'one year', 'two year'] },
  { name: 'PaperlessBilling', type: 'enum', values: YES_NO },
  { name: 'PaymentMethod', type: 'string' },
  { name: 'MonthlyCharges', type: 'decimal', required: true, min: 0 },
  { name: 'TotalCharges', type: 'decimal', min: 0 },
  { name: 'Churn', type: 'boolean', required: true },
];

/** Columns that go into `attributes` (everything not mapped to a subscription field). */
export const ATTRIBUTE_COLUMNS = [
  'gender',
  'SeniorCitizen',
  'Partner',
  'Dependents',
  'PhoneService',
  'MultipleLines',
  'InternetService',
  'OnlineSecurity',
  'OnlineBackup',
  'DeviceProtection',
  'TechSupport',
  'StreamingTV',
  'StreamingMovies',
  'PaperlessBilling',
] as const;

/** The source's own text of a column (trimmed, NULL when empty), from the raw row `r`. */
const text = (column: string) => `NULLIF(trim(r.${quoteIdent(column)}), '')`;

export const telcoProfile: Profile = {
  name: 'telco',
  description: 'IBM Telco customer churn (one CSV, one row per customer, no dates)',
  timezone: 'UTC',
  currency: 'USD',
  sourceName: 'telco',
  async extract(ctx: ExtractContext): Promise<ExtractResult> {
    const { db } = ctx;
    const { file, ignored } = await pickCsvFile(ctx.files, 'telco', ['customerID', 'tenure', 'Churn']);
    ctx.step('reading telco customers');
    const raw = await readValidated(db, file, SPECS, 'v_telco', { timezone: ctx.timezone });
    ctx.step('checking telco customers');
    await markDuplicateKeys(db, 'v_telco', ['customerID']);
    const attributes = ATTRIBUTE_COLUMNS.map(
      (c) => `${quoteLiteral(c)}, ${c === 'SeniorCitizen' ? 'v."SeniorCitizen"::INTEGER' : text(c)}`,
    ).join(', ');
    await db.run(`CREATE OR REPLACE TEMP TABLE telco_rows AS
      SELECT v._row, v."customerID" AS customer_id, v."SeniorCitizen" AS senior,
        ${text('Contract')} AS contract, v.tenure AS tenure_months, v."MonthlyCharges" AS monthly_charges,
        v."TotalCharges" AS total_charges, v."PaymentMethod" AS payment_method, v."Churn" AS churned,
        json_object(${attributes}) AS attributes,
        coalesce(v._problem, CASE WHEN v."TotalCharges" IS NULL AND v.tenure > 0 THEN 'missing_value:TotalCharges' END)
          AS _problem
      FROM v_telco v JOIN ${quoteIdent(raw.table)} r ON r.rowid = v._row`);
    ctx.step('conforming telco customers');
    await db.run(`CREATE OR REPLACE TEMP TABLE c_customers AS
      SELECT ${customerColumns({
        customer_id: 'customer_id',
        segment: "CASE senior WHEN '1' THEN 'senior' WHEN '0' THEN 'non-senior' END",
      })}, _problem
      FROM telco_rows`);
    await db.run(`CREATE OR REPLACE TEMP TABLE c_subscriptions AS
      SELECT customer_id, contract, CAST(tenure_months AS INTEGER) AS tenure_months, monthly_charges,
        total_charges, payment_method, churned, attributes, _problem
      FROM telco_rows`);
    await recordRowRejects(db, file.path, raw, 'telco_rows');
    await ctx.keepRaw(file.path, 'customers', raw.table);
    await emitAll(ctx, [raw.table, 'v_telco', 'telco_rows'], ['c_customers', 'c_subscriptions']);
    return {
      files: [{ file: file.path, entity: 'customers', rowsRead: recordsRead(raw) }],
      ignoredFiles: ignored,
    };
  },
};
