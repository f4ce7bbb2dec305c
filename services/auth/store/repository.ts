/**
 * The one storage interface of Azora Auth (`AuthRepository`) and its implementation over the SQL port, so SQLite
 * and PostgreSQL run the same statements. Secrets that prove something (refresh tokens, mail links, recovery codes)
 * are stored only as SHA-256 hashes; password hashes are argon2id strings.
 */
import type { SqlDb, SqlValue } from "./sql.js";

export interface UserRow {
  id: string;
  email: string | null;
  emailVerified: boolean;
  passwordHash: string | null;
  wallet: string | null;
  failedLogins: number;
  lockedUntil: number;
  totpSecret: string | null;
  totpEnabled: boolean;
  createdAt: number;
}

export interface RefreshTokenRow {
  tokenHash: string;
  familyId: string;
  userId: string;
  amr: string;
  expiresAt: number;
  usedAt: number | null;
  revoked: boolean;
}

export interface SigningKeyRow {
  kid: string;
  privateJwk: string;
  publicJwk: string;
  createdAt: number;
  /** After this the key no longer signs; it stays published until its last token could have expired. */
  retiresAt: number;
}

export interface PasskeyRow {
  id: string;
  userId: string;
  publicKey: string;
  counter: number;
  transports: string;
}

export interface OIDCRow {
  model: string;
  id: string;
  payload: string;
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  expiresAt: number | null;
  consumedAt: number | null;
}

export type MailTokenPurpose = "verify" | "reset";
export type ChallengePurpose = "webauthn-register" | "webauthn-login";

export interface AuthRepository {
  migrate(): Promise<void>;
  close(): Promise<void>;

  createUser(u: { id: string; email?: string; passwordHash?: string; wallet?: string; now: number }): Promise<boolean>;
  userById(id: string): Promise<UserRow | undefined>;
  userByEmail(email: string): Promise<UserRow | undefined>;
  userByWallet(wallet: string): Promise<UserRow | undefined>;
  countUsers(): Promise<number>;
  linkEmail(userId: string, email: string): Promise<boolean>;
  linkWallet(userId: string, wallet: string): Promise<boolean>;
  setEmailVerified(userId: string): Promise<void>;
  setPasswordHash(userId: string, hash: string): Promise<void>;
  /** Counts a wrong password; locks until `lockUntil` when the count reaches `maxFailures`. Returns the new state. */
  recordLoginFailure(
    userId: string,
    maxFailures: number,
    lockUntil: number,
  ): Promise<{ failedLogins: number; lockedUntil: number }>;
  clearLoginFailures(userId: string): Promise<void>;
  setTotp(userId: string, secret: string | null, enabled: boolean): Promise<void>;
  /** Records a used TOTP time step; false when this or a later step was already used (replay). */
  useTotpStep(userId: string, step: number): Promise<boolean>;
  replaceRecoveryCodes(userId: string, codeHashes: string[]): Promise<void>;
  /** Marks a recovery code used; false when unknown or already used (single statement: no double spend). */
  useRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean>;

  saveNonce(nonce: string, expiresAt: number): Promise<void>;
  /** Deletes the nonce if it exists and is unexpired; true only for the first caller. */
  consumeNonce(nonce: string, now: number): Promise<boolean>;

  saveMailToken(t: { tokenHash: string; userId: string; purpose: MailTokenPurpose; expiresAt: number }): Promise<void>;
  /** Marks an unused, unexpired token of that purpose used and returns its user; undefined otherwise. */
  consumeMailToken(tokenHash: string, purpose: MailTokenPurpose, now: number): Promise<string | undefined>;

  saveRefreshToken(t: Omit<RefreshTokenRow, "usedAt" | "revoked">): Promise<void>;
  /** Marks the token used if it is live; returns it, or undefined when unknown, used, revoked or expired. */
  useRefreshToken(tokenHash: string, now: number): Promise<RefreshTokenRow | undefined>;
  refreshToken(tokenHash: string): Promise<RefreshTokenRow | undefined>;
  revokeFamily(familyId: string): Promise<number>;
  revokeUserTokens(userId: string): Promise<number>;
  countLiveRefreshTokens(userId: string, now: number): Promise<number>;

  saveSigningKey(k: SigningKeyRow): Promise<void>;
  /** Keys still published (retired less than `graceMs` ago), newest first. */
  signingKeys(now: number, graceMs: number): Promise<SigningKeyRow[]>;

  saveChallenge(c: {
    id: string;
    userId: string | null;
    purpose: ChallengePurpose;
    challenge: string;
    expiresAt: number;
  }): Promise<void>;
  consumeChallenge(
    id: string,
    purpose: ChallengePurpose,
    now: number,
  ): Promise<{ userId: string | null; challenge: string } | undefined>;
  /** oidc-provider's models (sessions, codes, grants, tokens…), as its adapter stores them: JSON per (model, id). */
  oidcUpsert(r: OIDCRow): Promise<void>;
  oidcFind(model: string, by: "id" | "uid" | "user_code", value: string, now: number): Promise<OIDCRow | undefined>;
  oidcConsume(model: string, id: string, now: number): Promise<void>;
  oidcDestroy(model: string, id: string): Promise<void>;
  oidcRevokeByGrant(grantId: string): Promise<void>;
  savePasskey(p: PasskeyRow & { now: number }): Promise<void>;
  passkey(id: string): Promise<PasskeyRow | undefined>;
  passkeysOf(userId: string): Promise<PasskeyRow[]>;
  setPasskeyCounter(id: string, counter: number): Promise<void>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  email TEXT UNIQUE,
  email_verified INTEGER NOT NULL DEFAULT 0,
  password_hash TEXT,
  wallet TEXT UNIQUE,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until BIGINT NOT NULL DEFAULT 0,
  totp_secret TEXT,
  totp_enabled INTEGER NOT NULL DEFAULT 0,
  totp_last_step BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS recovery_codes (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  used_at BIGINT,
  PRIMARY KEY (user_id, code_hash)
);
CREATE TABLE IF NOT EXISTS siwe_nonces (nonce TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS mail_tokens (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  family_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  amr TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_user ON refresh_tokens (user_id);
CREATE TABLE IF NOT EXISTS signing_keys (
  kid TEXT PRIMARY KEY,
  private_jwk TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  retires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS challenges (
  id TEXT PRIMARY KEY,
  user_id TEXT,
  purpose TEXT NOT NULL,
  challenge TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS oidc_payloads (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  payload TEXT NOT NULL,
  grant_id TEXT,
  user_code TEXT,
  uid TEXT,
  expires_at BIGINT,
  consumed_at BIGINT,
  PRIMARY KEY (model, id)
);
CREATE INDEX IF NOT EXISTS oidc_payloads_grant ON oidc_payloads (grant_id);
CREATE INDEX IF NOT EXISTS oidc_payloads_uid ON oidc_payloads (uid);
CREATE TABLE IF NOT EXISTS passkeys (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  public_key TEXT NOT NULL,
  counter BIGINT NOT NULL,
  transports TEXT NOT NULL,
  created_at BIGINT NOT NULL
)`;

interface UserSql {
  id: string;
  email: string | null;
  email_verified: number;
  password_hash: string | null;
  wallet: string | null;
  failed_logins: number;
  locked_until: number;
  totp_secret: string | null;
  totp_enabled: number;
  created_at: number;
}

const userOf = (r: UserSql | undefined): UserRow | undefined =>
  r === undefined
    ? undefined
    : {
        id: r.id,
        email: r.email,
        emailVerified: Number(r.email_verified) === 1,
        passwordHash: r.password_hash,
        wallet: r.wallet,
        failedLogins: Number(r.failed_logins),
        lockedUntil: Number(r.locked_until),
        totpSecret: r.totp_secret,
        totpEnabled: Number(r.totp_enabled) === 1,
        createdAt: Number(r.created_at),
      };

interface RefreshSql {
  token_hash: string;
  family_id: string;
  user_id: string;
  amr: string;
  expires_at: number;
  used_at: number | null;
  revoked: number;
}

const refreshOf = (r: RefreshSql | undefined): RefreshTokenRow | undefined =>
  r === undefined
    ? undefined
    : {
        tokenHash: r.token_hash,
        familyId: r.family_id,
        userId: r.user_id,
        amr: r.amr,
        expiresAt: Number(r.expires_at),
        usedAt: r.used_at === null ? null : Number(r.used_at),
        revoked: Number(r.revoked) === 1,
      };

export class SqlAuthRepository implements AuthRepository {
  constructor(private readonly db: SqlDb) {}

  private async one<T>(sql: string, params: readonly SqlValue[]): Promise<T | undefined> {
    return (await this.db.all<T>(sql, params))[0];
  }

  async migrate(): Promise<void> {
    await this.db.exec(SCHEMA);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async createUser(u: { id: string; email?: string; passwordHash?: string; wallet?: string; now: number }) {
    const n = await this.db.run(
      "INSERT INTO users (id, email, password_hash, wallet, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      [u.id, u.email ?? null, u.passwordHash ?? null, u.wallet ?? null, u.now],
    );
    return n === 1;
  }

  async userById(id: string) {
    return userOf(await this.one<UserSql>("SELECT * FROM users WHERE id = ?", [id]));
  }

  async userByEmail(email: string) {
    return userOf(await this.one<UserSql>("SELECT * FROM users WHERE email = ?", [email]));
  }

  async userByWallet(wallet: string) {
    return userOf(await this.one<UserSql>("SELECT * FROM users WHERE wallet = ?", [wallet]));
  }

  async countUsers() {
    return Number((await this.one<{ n: number }>("SELECT COUNT(*) AS n FROM users", []))?.n ?? 0);
  }

  async linkEmail(userId: string, email: string) {
    const taken = await this.userByEmail(email);
    if (taken !== undefined) return taken.id === userId;
    return (await this.db.run("UPDATE users SET email = ?, email_verified = 0 WHERE id = ?", [email, userId])) === 1;
  }

  async linkWallet(userId: string, wallet: string) {
    const taken = await this.userByWallet(wallet);
    if (taken !== undefined) return taken.id === userId;
    return (await this.db.run("UPDATE users SET wallet = ? WHERE id = ?", [wallet, userId])) === 1;
  }

  async setEmailVerified(userId: string) {
    await this.db.run("UPDATE users SET email_verified = 1 WHERE id = ?", [userId]);
  }

  async setPasswordHash(userId: string, hash: string) {
    await this.db.run("UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = 0 WHERE id = ?", [
      hash,
      userId,
    ]);
  }

  async recordLoginFailure(userId: string, maxFailures: number, lockUntil: number) {
    const r = await this.one<{ failed_logins: number; locked_until: number }>(
      `UPDATE users SET failed_logins = failed_logins + 1,
         locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END
       WHERE id = ? RETURNING failed_logins, locked_until`,
      [maxFailures, lockUntil, userId],
    );
    return { failedLogins: Number(r?.failed_logins ?? 0), lockedUntil: Number(r?.locked_until ?? 0) };
  }

  async clearLoginFailures(userId: string) {
    await this.db.run("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = ?", [userId]);
  }

  async setTotp(userId: string, secret: string | null, enabled: boolean) {
    await this.db.run("UPDATE users SET totp_secret = ?, totp_enabled = ? WHERE id = ?", [
      secret,
      enabled ? 1 : 0,
      userId,
    ]);
  }

  async useTotpStep(userId: string, step: number) {
    return (
      (await this.db.run("UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?", [
        step,
        userId,
        step,
      ])) === 1
    );
  }

  async replaceRecoveryCodes(userId: string, codeHashes: string[]) {
    await this.db.run("DELETE FROM recovery_codes WHERE user_id = ?", [userId]);
    for (const h of codeHashes)
      await this.db.run("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)", [userId, h]);
  }

  async useRecoveryCode(userId: string, codeHash: string, now: number) {
    return (
      (await this.db.run(
        "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
        [now, userId, codeHash],
      )) === 1
    );
  }

  async saveNonce(nonce: string, expiresAt: number) {
    await this.db.run("INSERT INTO siwe_nonces (nonce, expires_at) VALUES (?, ?)", [nonce, expiresAt]);
  }

  async consumeNonce(nonce: string, now: number) {
    const n = await this.db.run("DELETE FROM siwe_nonces WHERE nonce = ? AND expires_at > ?", [nonce, now]);
    // Expired ones go too, lazily.
    if (n === 0) await this.db.run("DELETE FROM siwe_nonces WHERE expires_at <= ?", [now]);
    return n === 1;
  }

  async saveMailToken(t: { tokenHash: string; userId: string; purpose: MailTokenPurpose; expiresAt: number }) {
    await this.db.run("INSERT INTO mail_tokens (token_hash, user_id, purpose, expires_at) VALUES (?, ?, ?, ?)", [
      t.tokenHash,
      t.userId,
      t.purpose,
      t.expiresAt,
    ]);
  }

  async consumeMailToken(tokenHash: string, purpose: MailTokenPurpose, now: number) {
    const r = await this.one<{ user_id: string }>(
      `UPDATE mail_tokens SET used_at = ?
       WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id`,
      [now, tokenHash, purpose, now],
    );
    return r?.user_id;
  }

  async saveRefreshToken(t: Omit<RefreshTokenRow, "usedAt" | "revoked">) {
    await this.db.run(
      "INSERT INTO refresh_tokens (token_hash, family_id, user_id, amr, expires_at) VALUES (?, ?, ?, ?, ?)",
      [t.tokenHash, t.familyId, t.userId, t.amr, t.expiresAt],
    );
  }

  async useRefreshToken(tokenHash: string, now: number) {
    return refreshOf(
      await this.one<RefreshSql>(
        `UPDATE refresh_tokens SET used_at = ?
         WHERE token_hash = ? AND used_at IS NULL AND revoked = 0 AND expires_at > ? RETURNING *`,
        [now, tokenHash, now],
      ),
    );
  }

  async refreshToken(tokenHash: string) {
    return refreshOf(await this.one<RefreshSql>("SELECT * FROM refresh_tokens WHERE token_hash = ?", [tokenHash]));
  }

  revokeFamily(familyId: string) {
    return this.db.run("UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ? AND revoked = 0", [familyId]);
  }

  revokeUserTokens(userId: string) {
    return this.db.run("UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0", [userId]);
  }

  async countLiveRefreshTokens(userId: string, now: number) {
    const r = await this.one<{ n: number }>(
      "SELECT COUNT(*) AS n FROM refresh_tokens WHERE user_id = ? AND revoked = 0 AND used_at IS NULL AND expires_at > ?",
      [userId, now],
    );
    return Number(r?.n ?? 0);
  }

  async saveSigningKey(k: SigningKeyRow) {
    await this.db.run(
      "INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at, retires_at) VALUES (?, ?, ?, ?, ?)",
      [k.kid, k.privateJwk, k.publicJwk, k.createdAt, k.retiresAt],
    );
  }

  async signingKeys(now: number, graceMs: number) {
    const rows = await this.db.all<{
      kid: string;
      private_jwk: string;
      public_jwk: string;
      created_at: number;
      retires_at: number;
    }>("SELECT * FROM signing_keys WHERE retires_at > ? ORDER BY created_at DESC", [now - graceMs]);
    return rows.map((r) => ({
      kid: r.kid,
      privateJwk: r.private_jwk,
      publicJwk: r.public_jwk,
      createdAt: Number(r.created_at),
      retiresAt: Number(r.retires_at),
    }));
  }

  async saveChallenge(c: {
    id: string;
    userId: string | null;
    purpose: ChallengePurpose;
    challenge: string;
    expiresAt: number;
  }) {
    await this.db.run("INSERT INTO challenges (id, user_id, purpose, challenge, expires_at) VALUES (?, ?, ?, ?, ?)", [
      c.id,
      c.userId,
      c.purpose,
      c.challenge,
      c.expiresAt,
    ]);
  }

  async consumeChallenge(id: string, purpose: ChallengePurpose, now: number) {
    const r = await this.one<{ user_id: string | null; challenge: string }>(
      "DELETE FROM challenges WHERE id = ? AND purpose = ? AND expires_at > ? RETURNING user_id, challenge",
      [id, purpose, now],
    );
    return r === undefined ? undefined : { userId: r.user_id, challenge: r.challenge };
  }

  async oidcUpsert(r: OIDCRow) {
    await this.db.run(
      `INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at,
         consumed_at = excluded.consumed_at`,
      [r.model, r.id, r.payload, r.grantId, r.userCode, r.uid, r.expiresAt, r.consumedAt],
    );
  }

  async oidcFind(model: string, by: "id" | "uid" | "user_code", value: string, now: number) {
    // `by` picks one of three fixed column names (never user input): the statement text stays constant per column.
    const column = { id: "id", uid: "uid", user_code: "user_code" }[by];
    const r = await this.one<{
      model: string;
      id: string;
      payload: string;
      grant_id: string | null;
      user_code: string | null;
      uid: string | null;
      expires_at: number | null;
      consumed_at: number | null;
    }>(`SELECT * FROM oidc_payloads WHERE model = ? AND ${column} = ? AND (expires_at IS NULL OR expires_at > ?)`, [
      model,
      value,
      now,
    ]);
    return r === undefined
      ? undefined
      : {
          model: r.model,
          id: r.id,
          payload: r.payload,
          grantId: r.grant_id,
          userCode: r.user_code,
          uid: r.uid,
          expiresAt: r.expires_at === null ? null : Number(r.expires_at),
          consumedAt: r.consumed_at === null ? null : Number(r.consumed_at),
        };
  }

  async oidcConsume(model: string, id: string, now: number) {
    await this.db.run("UPDATE oidc_payloads SET consumed_at = ? WHERE model = ? AND id = ?", [now, model, id]);
  }

  async oidcDestroy(model: string, id: string) {
    await this.db.run("DELETE FROM oidc_payloads WHERE model = ? AND id = ?", [model, id]);
  }

  async oidcRevokeByGrant(grantId: string) {
    await this.db.run("DELETE FROM oidc_payloads WHERE grant_id = ?", [grantId]);
  }

  async savePasskey(p: PasskeyRow & { now: number }) {
    await this.db.run(
      "INSERT INTO passkeys (id, user_id, public_key, counter, transports, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      [p.id, p.userId, p.publicKey, p.counter, p.transports, p.now],
    );
  }

  async passkey(id: string) {
    const r = await this.one<PasskeySql>("SELECT * FROM passkeys WHERE id = ?", [id]);
    return r === undefined ? undefined : passkeyOf(r);
  }

  async passkeysOf(userId: string) {
    return (await this.db.all<PasskeySql>("SELECT * FROM passkeys WHERE user_id = ?", [userId])).map(passkeyOf);
  }

  async setPasskeyCounter(id: string, counter: number) {
    await this.db.run("UPDATE passkeys SET counter = ? WHERE id = ?", [counter, id]);
  }
}

interface PasskeySql {
  id: string;
  user_id: string;
  public_key: string;
  counter: number;
  transports: string;
}

const passkeyOf = (r: PasskeySql): PasskeyRow => ({
  id: r.id,
  userId: r.user_id,
  publicKey: r.public_key,
  counter: Number(r.counter),
  transports: r.transports,
});
