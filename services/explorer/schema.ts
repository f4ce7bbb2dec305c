/**
 * The explorer's tables, the same DDL on SQLite and PostgreSQL. Every row hangs off a block number, and the
 * cursor (`meta.cursor`, the last fully indexed block) is written in the transaction that writes the block's rows:
 * a crash leaves either the whole block and its cursor, or neither.
 */
export const SCHEMA_VERSION = 1;

export const DDL: string[] = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS blocks (
    number BIGINT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, parent_hash TEXT NOT NULL, timestamp BIGINT NOT NULL,
    miner TEXT NOT NULL, gas_used TEXT NOT NULL, gas_limit TEXT NOT NULL, base_fee TEXT, tx_count INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS txs (
    hash TEXT PRIMARY KEY, block_number BIGINT NOT NULL, tx_index INTEGER NOT NULL, from_addr TEXT NOT NULL,
    to_addr TEXT, value TEXT NOT NULL, input TEXT NOT NULL, nonce BIGINT NOT NULL, gas_limit TEXT NOT NULL,
    gas_price TEXT NOT NULL, gas_used TEXT NOT NULL, status INTEGER NOT NULL, contract_address TEXT,
    method_id TEXT, error TEXT, timestamp BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS txs_block ON txs (block_number, tx_index)`,
  // An address's transactions, newest first: one index per side, merged by the query.
  `CREATE TABLE IF NOT EXISTS address_txs (
    address TEXT NOT NULL, block_number BIGINT NOT NULL, tx_index INTEGER NOT NULL, tx_hash TEXT NOT NULL,
    PRIMARY KEY (address, block_number, tx_index))`,
  `CREATE TABLE IF NOT EXISTS logs (
    tx_hash TEXT NOT NULL, block_number BIGINT NOT NULL, log_index INTEGER NOT NULL, address TEXT NOT NULL,
    topic0 TEXT, topic1 TEXT, topic2 TEXT, topic3 TEXT, data TEXT NOT NULL, event TEXT,
    PRIMARY KEY (block_number, log_index))`,
  `CREATE INDEX IF NOT EXISTS logs_tx ON logs (tx_hash)`,
  `CREATE INDEX IF NOT EXISTS logs_address ON logs (address, block_number)`,
  `CREATE TABLE IF NOT EXISTS transfers (
    tx_hash TEXT NOT NULL, block_number BIGINT NOT NULL, log_index INTEGER NOT NULL, batch_index INTEGER NOT NULL,
    token TEXT NOT NULL, standard TEXT NOT NULL, from_addr TEXT NOT NULL, to_addr TEXT NOT NULL, token_id TEXT,
    amount TEXT NOT NULL, timestamp BIGINT NOT NULL, PRIMARY KEY (block_number, log_index, batch_index))`,
  `CREATE INDEX IF NOT EXISTS transfers_tx ON transfers (tx_hash)`,
  `CREATE INDEX IF NOT EXISTS transfers_token ON transfers (token, block_number)`,
  `CREATE INDEX IF NOT EXISTS transfers_from ON transfers (from_addr, block_number)`,
  `CREATE INDEX IF NOT EXISTS transfers_to ON transfers (to_addr, block_number)`,
  `CREATE TABLE IF NOT EXISTS internal_calls (
    tx_hash TEXT NOT NULL, block_number BIGINT NOT NULL, call_index INTEGER NOT NULL, depth INTEGER NOT NULL,
    type TEXT NOT NULL, from_addr TEXT NOT NULL, to_addr TEXT, value TEXT NOT NULL, gas_used TEXT NOT NULL,
    input TEXT NOT NULL, output TEXT, error TEXT, PRIMARY KEY (tx_hash, call_index))`,
  `CREATE INDEX IF NOT EXISTS internal_block ON internal_calls (block_number)`,
  `CREATE TABLE IF NOT EXISTS contracts (
    address TEXT PRIMARY KEY, creator TEXT NOT NULL, tx_hash TEXT NOT NULL, block_number BIGINT NOT NULL,
    creation_input TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS tokens (
    address TEXT PRIMARY KEY, standard TEXT NOT NULL, name TEXT, symbol TEXT, decimals INTEGER,
    first_block BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS holdings (
    token TEXT NOT NULL, holder TEXT NOT NULL, token_id TEXT NOT NULL, balance TEXT NOT NULL,
    PRIMARY KEY (holder, token, token_id))`,
  `CREATE INDEX IF NOT EXISTS holdings_token ON holdings (token, token_id)`,
  `CREATE TABLE IF NOT EXISTS balances (address TEXT PRIMARY KEY, balance TEXT NOT NULL, block_number BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS verifications (
    address TEXT PRIMARY KEY, match TEXT NOT NULL, contract_name TEXT NOT NULL, compiler_version TEXT NOT NULL,
    abi TEXT NOT NULL, input TEXT NOT NULL, constructor_args TEXT NOT NULL, verified_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS verify_jobs (
    guid TEXT PRIMARY KEY, address TEXT NOT NULL, status TEXT NOT NULL, result TEXT NOT NULL,
    created_at BIGINT NOT NULL)`,
];
