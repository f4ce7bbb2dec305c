/**
 * Email + password accounts: argon2id hashes, verification and reset by mail, and a lockout after
 * `maxFailures` wrong passwords in a row. Unknown emails cost an argon2 verification too, so timing does not tell
 * which emails have accounts.
 */
import { randomUUID } from "node:crypto";
import { hash, verify } from "@node-rs/argon2";
import { AuthError, AuthErrorCode } from "./errors.js";
import type { Mailer } from "./mailer.js";
import type { AuthMetrics } from "./metrics.js";
import { hashSecret, newSecret } from "./secrets.js";
import type { AuthRepository, UserRow } from "./store/repository.js";

// @node-rs/argon2 exports Algorithm as a const enum, which isolated modules cannot inline; 2 is Argon2id.
const ARGON2ID = 2;

export interface PasswordOptions {
  memoryCostKiB: number;
  timeCost: number;
  parallelism: number;
  minLength: number;
  maxFailures: number;
  lockoutSec: number;
  requireVerifiedEmail: boolean;
  mailTokenTtlSec: number;
  /** Base of links in mails. */
  issuer: string;
  now: () => number;
}

const EMAIL = /^[^\s@"'<>()\\,;:]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$/;
const MAX_PASSWORD = 1024;

export function normaliseEmail(email: string): string {
  const e = email.trim().toLowerCase();
  if (e.length > 254 || !EMAIL.test(e))
    throw new AuthError({ code: AuthErrorCode.INVALID_REQUEST, reason: "not an email address" });
  return e;
}

export class PasswordAccounts {
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly repo: AuthRepository,
    private readonly mailer: Mailer,
    private readonly o: PasswordOptions,
    private readonly metrics: AuthMetrics | null = null,
  ) {}

  hashPassword(password: string): Promise<string> {
    return hash(password, {
      algorithm: ARGON2ID,
      memoryCost: this.o.memoryCostKiB,
      timeCost: this.o.timeCost,
      parallelism: this.o.parallelism,
    });
  }

  private checkStrength(password: string): void {
    if (typeof password !== "string" || password.length < this.o.minLength || password.length > MAX_PASSWORD)
      throw new AuthError({
        code: AuthErrorCode.INVALID_REQUEST,
        reason: `password must be ${this.o.minLength}–${MAX_PASSWORD} characters`,
      });
  }

  /** Creates the account and mails a verification link. */
  async register(emailIn: string, password: string): Promise<{ userId: string }> {
    const email = normaliseEmail(emailIn);
    this.checkStrength(password);
    const passwordHash = await this.hashPassword(password);
    const id = randomUUID();
    if (!(await this.repo.createUser({ id, email, passwordHash, now: this.o.now() })))
      throw new AuthError({ code: AuthErrorCode.EMAIL_TAKEN });
    await this.mailLink(id, email, "verify");
    return { userId: id };
  }

  /** Links an email (and optionally a password) to a signed-in account, e.g. a wallet's; mails a verification link. */
  async linkEmail(userId: string, emailIn: string, password?: string): Promise<void> {
    const email = normaliseEmail(emailIn);
    if (password !== undefined) this.checkStrength(password);
    if (!(await this.repo.linkEmail(userId, email))) throw new AuthError({ code: AuthErrorCode.EMAIL_TAKEN });
    if (password !== undefined) await this.repo.setPasswordHash(userId, await this.hashPassword(password));
    await this.mailLink(userId, email, "verify");
  }

  /** Sends (again) a verification link to an account's unverified email. */
  async sendVerification(userId: string): Promise<void> {
    const u = await this.repo.userById(userId);
    if (u?.email == null || u.emailVerified)
      throw new AuthError({ code: AuthErrorCode.MFA_STATE, reason: "no unverified email" });
    await this.mailLink(u.id, u.email, "verify");
  }

  async verifyEmail(token: string): Promise<void> {
    const userId = await this.repo.consumeMailToken(hashSecret(String(token)), "verify", this.o.now());
    if (userId === undefined) throw new AuthError({ code: AuthErrorCode.INVALID_MAIL_TOKEN });
    await this.repo.setEmailVerified(userId);
  }

  /** Checks the password; counts failures and locks the account after `maxFailures`. */
  async authenticate(emailIn: string, password: string): Promise<UserRow> {
    const email = normaliseEmail(emailIn);
    if (typeof password !== "string" || password.length > MAX_PASSWORD)
      throw new AuthError({ code: AuthErrorCode.INVALID_CREDENTIALS });
    const user = await this.repo.userByEmail(email);
    const now = this.o.now();
    if (user === undefined || user.passwordHash === null) {
      this.dummyHash ??= this.hashPassword(newSecret());
      await verify(await this.dummyHash, password);
      throw new AuthError({ code: AuthErrorCode.INVALID_CREDENTIALS });
    }
    if (user.lockedUntil > now) throw new AuthError({ code: AuthErrorCode.ACCOUNT_LOCKED, until: user.lockedUntil });
    if (!(await verify(user.passwordHash, password))) {
      const s = await this.repo.recordLoginFailure(user.id, this.o.maxFailures, now + this.o.lockoutSec * 1000);
      if (s.lockedUntil > now) {
        this.metrics?.lockouts.inc();
        throw new AuthError({ code: AuthErrorCode.ACCOUNT_LOCKED, until: s.lockedUntil });
      }
      throw new AuthError({ code: AuthErrorCode.INVALID_CREDENTIALS });
    }
    if (user.failedLogins > 0) await this.repo.clearLoginFailures(user.id);
    if (this.o.requireVerifiedEmail && !user.emailVerified)
      throw new AuthError({ code: AuthErrorCode.EMAIL_NOT_VERIFIED });
    return user;
  }

  /** Mails a reset link if the account exists; says nothing either way (no account enumeration). */
  async requestReset(emailIn: string): Promise<void> {
    const email = normaliseEmail(emailIn);
    const user = await this.repo.userByEmail(email);
    if (user !== undefined) await this.mailLink(user.id, email, "reset");
  }

  /** Sets a new password from a reset link; unlocks the account and ends every session. */
  async confirmReset(token: string, password: string): Promise<string> {
    this.checkStrength(password);
    const userId = await this.repo.consumeMailToken(hashSecret(String(token)), "reset", this.o.now());
    if (userId === undefined) throw new AuthError({ code: AuthErrorCode.INVALID_MAIL_TOKEN });
    await this.repo.setPasswordHash(userId, await this.hashPassword(password));
    // Whoever can read the mailbox owns the account; a reset link proves the address too.
    await this.repo.setEmailVerified(userId);
    await this.repo.revokeUserTokens(userId);
    return userId;
  }

  private async mailLink(userId: string, email: string, purpose: "verify" | "reset"): Promise<void> {
    const token = newSecret();
    await this.repo.saveMailToken({
      tokenHash: hashSecret(token),
      userId,
      purpose,
      expiresAt: this.o.now() + this.o.mailTokenTtlSec * 1000,
    });
    const kind = purpose === "verify" ? "verify-email" : "reset-password";
    const link = `${this.o.issuer}/${purpose === "verify" ? "verify-email" : "reset-password"}?token=${token}`;
    const hours = Math.round(this.o.mailTokenTtlSec / 3600);
    try {
      await this.mailer.send({
        kind,
        to: email,
        subject: purpose === "verify" ? "Confirm your email for Azora" : "Reset your Azora password",
        text:
          purpose === "verify"
            ? `Open this link to confirm your email address:\n\n${link}\n\nIt works once, for ${hours} h.\n`
            : `Someone asked to reset the password of this account. If it was you, open:\n\n${link}\n\nIt works once, for ${hours} h. If it was not you, ignore this mail.\n`,
        link,
      });
      this.metrics?.mailsSent.inc({ kind, outcome: "sent" });
    } catch (e) {
      this.metrics?.mailsSent.inc({ kind, outcome: "failed" });
      throw e;
    }
  }
}
