/**
 * Second factors. A first-factor sign-in of an account with MFA yields a short-lived ticket (a JWT of its own type,
 * never accepted as an access token) that a TOTP code, a recovery code or a passkey assertion redeems for tokens.
 * TOTP (RFC 6238, `otplib`): SHA-1, 6 digits, 30 s, ±1 step; each time step is accepted once per account.
 * Recovery codes: ten single-use codes, stored hashed, shown once when TOTP is enabled.
 */
import { randomBytes } from "node:crypto";
import { createLocalJWKSet, jwtVerify } from "jose";
import { generateSecret, generateURI, verify as verifyTotp } from "otplib";
import { AuthError, AuthErrorCode } from "./errors.js";
import { ALG, MFA_TICKET_TYP, type SigningKeys } from "./keys.js";
import { hashSecret } from "./secrets.js";
import type { AuthRepository, UserRow } from "./store/repository.js";

const TICKET_TTL_SEC = 300;
const PERIOD_SEC = 30;
const RECOVERY_CODES = 10;

export interface MFATicket {
  userId: string;
  amr: string[];
}

export class MFA {
  constructor(
    private readonly repo: AuthRepository,
    private readonly keys: SigningKeys,
    private readonly o: { issuer: string; maxFailures: number; lockoutSec: number; now: () => number },
  ) {}

  /** The second factors the account has: "totp", "webauthn". */
  async methodsOf(user: UserRow): Promise<string[]> {
    const m: string[] = [];
    if (user.totpEnabled) m.push("totp");
    if ((await this.repo.passkeysOf(user.id)).length > 0) m.push("webauthn");
    return m;
  }

  ticket(userId: string, amr: string[]): Promise<string> {
    return this.keys.sign(
      { sub: userId, amr },
      { typ: MFA_TICKET_TYP, ttlSec: TICKET_TTL_SEC, issuer: this.o.issuer, audience: `${this.o.issuer}/mfa` },
    );
  }

  /** Checks a ticket (signature, type, audience, expiry); it stays valid until it expires (5 min). */
  async redeem(ticket: string): Promise<MFATicket> {
    try {
      const { payload } = await jwtVerify(ticket, createLocalJWKSet(await this.keys.jwks()), {
        algorithms: [ALG],
        typ: MFA_TICKET_TYP,
        issuer: this.o.issuer,
        audience: `${this.o.issuer}/mfa`,
        currentDate: new Date(this.o.now()),
      });
      return { userId: payload.sub as string, amr: (payload.amr as string[]) ?? [] };
    } catch {
      throw new AuthError({
        code: AuthErrorCode.INVALID_TOKEN,
        reason: "MFA ticket invalid or expired; sign in again",
      });
    }
  }

  async setupTotp(user: UserRow): Promise<{ secret: string; uri: string }> {
    if (user.totpEnabled) throw new AuthError({ code: AuthErrorCode.MFA_STATE, reason: "TOTP is already on" });
    const secret = generateSecret();
    await this.repo.setTotp(user.id, secret, false);
    const label = user.email ?? user.wallet ?? user.id;
    return { secret, uri: generateURI({ issuer: "Azora", label, secret }) };
  }

  /** Turns TOTP on after a first good code; returns the recovery codes (shown once). */
  async enableTotp(user: UserRow, code: string): Promise<{ recoveryCodes: string[] }> {
    if (user.totpEnabled || user.totpSecret === null)
      throw new AuthError({ code: AuthErrorCode.MFA_STATE, reason: "start with /v1/mfa/totp/setup" });
    await this.checkTotp(user.id, user.totpSecret, code);
    const recoveryCodes = Array.from({ length: RECOVERY_CODES }, () => formatRecovery(randomBytes(10)));
    await this.repo.replaceRecoveryCodes(
      user.id,
      recoveryCodes.map((c) => hashSecret(normaliseRecovery(c))),
    );
    await this.repo.setTotp(user.id, user.totpSecret, true);
    return { recoveryCodes };
  }

  async completeWithTotp(
    ticket: string,
    proof: { code?: string; recoveryCode?: string },
  ): Promise<{ user: UserRow; amr: string[] }> {
    const t = await this.redeem(ticket);
    const user = await this.repo.userById(t.userId);
    if (user === undefined || !user.totpEnabled || user.totpSecret === null)
      throw new AuthError({ code: AuthErrorCode.MFA_STATE, reason: "TOTP is not on for this account" });
    const now = this.o.now();
    if (user.lockedUntil > now) throw new AuthError({ code: AuthErrorCode.ACCOUNT_LOCKED, until: user.lockedUntil });
    try {
      if (proof.code !== undefined) await this.checkTotp(user.id, user.totpSecret, proof.code);
      else if (proof.recoveryCode !== undefined) {
        const ok = await this.repo.useRecoveryCode(user.id, hashSecret(normaliseRecovery(proof.recoveryCode)), now);
        if (!ok) throw new AuthError({ code: AuthErrorCode.MFA_INVALID_CODE });
      } else throw new AuthError({ code: AuthErrorCode.INVALID_REQUEST, reason: "give code or recoveryCode" });
    } catch (e) {
      // Wrong second factors count with wrong passwords: a stolen password does not buy unlimited code guesses.
      if (e instanceof AuthError && e.code === AuthErrorCode.MFA_INVALID_CODE) {
        const s = await this.repo.recordLoginFailure(user.id, this.o.maxFailures, now + this.o.lockoutSec * 1000);
        if (s.lockedUntil > now) throw new AuthError({ code: AuthErrorCode.ACCOUNT_LOCKED, until: s.lockedUntil });
      }
      throw e;
    }
    if (user.failedLogins > 0) await this.repo.clearLoginFailures(user.id);
    return { user, amr: [...t.amr, "otp", "mfa"] };
  }

  private async checkTotp(userId: string, secret: string, code: string): Promise<void> {
    if (!/^\d{6}$/.test(code)) throw new AuthError({ code: AuthErrorCode.MFA_INVALID_CODE });
    const epoch = Math.floor(this.o.now() / 1000);
    const r = await verifyTotp({ secret, token: code, epoch, epochTolerance: PERIOD_SEC });
    if (!r.valid) throw new AuthError({ code: AuthErrorCode.MFA_INVALID_CODE });
    const step = Math.floor(epoch / PERIOD_SEC) + ("delta" in r && typeof r.delta === "number" ? r.delta : 0);
    // A code seen once is spent: an observer of the code cannot replay it within its window.
    if (!(await this.repo.useTotpStep(userId, step))) throw new AuthError({ code: AuthErrorCode.MFA_INVALID_CODE });
  }
}

const formatRecovery = (b: Buffer) => {
  const s = b.toString("hex");
  return `${s.slice(0, 5)}-${s.slice(5, 10)}-${s.slice(10, 15)}-${s.slice(15, 20)}`;
};
const normaliseRecovery = (c: string) =>
  String(c)
    .toLowerCase()
    .replace(/[^0-9a-f]/g, "");
