/**
 * The composition of Azora Auth without HTTP: repository, keys, sessions, and the sign-in methods. `server.ts`
 * puts routes on it; tests and the bench drive it directly or through the server.
 */
import { Registry } from "prom-client";
import type { AuthConfig } from "./config.js";
import { SigningKeys } from "./keys.js";
import type { Mailer } from "./mailer.js";
import { type AuthMetrics, createAuthMetrics } from "./metrics.js";
import { MFA } from "./mfa.js";
import { PasswordAccounts } from "./password.js";
import { Sessions } from "./sessions.js";
import { type ContractSignatureCheck, erc1271ViaRPC, SIWE } from "./siwe.js";
import { type AuthRepository, SqlAuthRepository } from "./store/repository.js";
import { openPostgres, openSqlite } from "./store/sql.js";
import { type AccessTokenVerifier, createAccessTokenVerifier } from "./verifier.js";
import { Passkeys } from "./webauthn.js";

export interface AuthCore {
  cfg: AuthConfig;
  repo: AuthRepository;
  keys: SigningKeys;
  sessions: Sessions;
  passwords: PasswordAccounts;
  siwe: SIWE;
  mfa: MFA;
  passkeys: Passkeys;
  verifyAccessToken: AccessTokenVerifier;
  metrics: AuthMetrics;
  register: Registry;
  close(): Promise<void>;
}

export async function openAuthRepository(cfg: Pick<AuthConfig, "database" | "dataDir">): Promise<AuthRepository> {
  const db = cfg.database.kind === "postgres" ? openPostgres(cfg.database.url as string) : openSqlite(cfg.dataDir);
  const repo = new SqlAuthRepository(db);
  await repo.migrate();
  return repo;
}

export async function createAuthCore(
  cfg: AuthConfig,
  mods: {
    mailer: Mailer;
    repo?: AuthRepository;
    /** Wall clock in ms; tests pass their own. */
    now?: () => number;
    /** ERC-1271 check; default: over `siwe.rpcUrl` when set, EOA-only otherwise. */
    contractCheck?: ContractSignatureCheck | null;
  },
): Promise<AuthCore> {
  const now = mods.now ?? Date.now;
  const repo = mods.repo ?? (await openAuthRepository(cfg));
  const register = new Registry();
  const metrics = createAuthMetrics(register);
  const t = cfg.tokens;
  const keys = new SigningKeys(repo, {
    rotationMs: t.keyRotationSec * 1000,
    maxTokenTtlMs: Math.max(t.accessTtlSec, 300) * 1000,
    now,
  });
  const sessions = new Sessions(
    repo,
    keys,
    {
      issuer: cfg.issuer,
      audience: t.audience,
      accessTtlSec: t.accessTtlSec,
      refreshTtlSec: t.refreshTtlSec,
      now,
    },
    metrics,
  );
  const passwords = new PasswordAccounts(repo, mods.mailer, { ...cfg.password, issuer: cfg.issuer, now }, metrics);
  const contractCheck =
    mods.contractCheck !== undefined
      ? mods.contractCheck
      : cfg.siwe.rpcUrl === undefined
        ? null
        : erc1271ViaRPC(cfg.siwe.rpcUrl, cfg.siwe.chainId);
  const siwe = new SIWE(repo, { ...cfg.siwe, contractCheck, now });
  const mfa = new MFA(repo, keys, {
    issuer: cfg.issuer,
    maxFailures: cfg.password.maxFailures,
    lockoutSec: cfg.password.lockoutSec,
    now,
  });
  const passkeys = new Passkeys(repo, { ...cfg.webauthn, now });
  const verifyAccessToken = createAccessTokenVerifier({
    issuer: cfg.issuer,
    audience: t.audience,
    jwks: () => keys.jwks(),
    now,
  });
  return {
    cfg,
    repo,
    keys,
    sessions,
    passwords,
    siwe,
    mfa,
    passkeys,
    verifyAccessToken,
    metrics,
    register,
    close: () => repo.close(),
  };
}
