/**
 * The narrow SQL port the explorer's one store runs on. SQL is written once, with `?` placeholders and the subset
 * both engines share (`INSERT … ON CONFLICT`, BIGINT, TEXT); a driver only executes it. Reads and the single writer
 * are kept apart: a write transaction never shows its rows to a concurrent API read before it commits.
 */
export type Row = Record<string, unknown>;
export type Param = string | number | null;

export interface SQLQueries {
  all<T = Row>(sql: string, params?: Param[]): Promise<T[]>;
  run(sql: string, params?: Param[]): Promise<void>;
}

export interface SQLDriver extends SQLQueries {
  readonly kind: "sqlite" | "postgres";
  /** Runs DDL statements (idempotent: `CREATE … IF NOT EXISTS`). */
  migrate(statements: string[]): Promise<void>;
  /** One write transaction: committed when `fn` resolves, rolled back when it throws. */
  transaction<T>(fn: (q: SQLQueries) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
