/**
 * Sessions: a sign-in yields a short-lived access JWT and an opaque refresh token. Each refresh swaps the token for
 * a new one of the same family (rotation); presenting a token that was already swapped means it leaked, so the whole
 * family is revoked (OAuth 2.1 §4.3.1 / RFC 9700 §4.14.2). Sign-out everywhere revokes every family of the user.
 */
import { randomUUID } from "node:crypto";
import { AuthError, AuthErrorCode } from "./errors.js";
import { ACCESS_TOKEN_TYP, type SigningKeys } from "./keys.js";
import type { AuthMetrics } from "./metrics.js";
import { hashSecret, newSecret } from "./secrets.js";
import type { AuthRepository, UserRow } from "./store/repository.js";

export interface TokenPair {
  accessToken: string;
  tokenType: "Bearer";
  expiresIn: number;
  refreshToken: string;
}

export class Sessions {
  constructor(
    private readonly repo: AuthRepository,
    private readonly keys: SigningKeys,
    private readonly opts: {
      issuer: string;
      audience: string;
      accessTtlSec: number;
      refreshTtlSec: number;
      now: () => number;
    },
    private readonly metrics: AuthMetrics | null = null,
  ) {}

  /** A new session (a new refresh-token family) for a user who just proved who they are by `amr`. */
  async start(user: UserRow, amr: string[]): Promise<TokenPair> {
    return this.issue(user, amr, randomUUID());
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    const now = this.opts.now();
    const hash = hashSecret(refreshToken);
    const row = await this.repo.useRefreshToken(hash, now);
    if (row === undefined) {
      const seen = await this.repo.refreshToken(hash);
      if (seen !== undefined && seen.usedAt !== null) {
        // Reuse: whoever holds the newer token and whoever replayed this one cannot be told apart; end them both.
        await this.repo.revokeFamily(seen.familyId);
        this.metrics?.refreshReuse.inc();
        throw new AuthError({ code: AuthErrorCode.REFRESH_TOKEN_REUSED });
      }
      throw new AuthError({ code: AuthErrorCode.INVALID_REFRESH_TOKEN });
    }
    const user = await this.repo.userById(row.userId);
    if (user === undefined) throw new AuthError({ code: AuthErrorCode.INVALID_REFRESH_TOKEN });
    return this.issue(user, row.amr.split(" "), row.familyId);
  }

  /** Revokes the family the token belongs to (sign out on this device). */
  async signOut(refreshToken: string): Promise<void> {
    const row = await this.repo.refreshToken(hashSecret(refreshToken));
    if (row !== undefined) await this.repo.revokeFamily(row.familyId);
  }

  /** Revokes every refresh token of the user; access tokens already out expire within `accessTtlSec`. */
  signOutEverywhere(userId: string): Promise<number> {
    return this.repo.revokeUserTokens(userId);
  }

  private async issue(user: UserRow, amr: string[], familyId: string): Promise<TokenPair> {
    const refreshToken = newSecret();
    await this.repo.saveRefreshToken({
      tokenHash: hashSecret(refreshToken),
      familyId,
      userId: user.id,
      amr: amr.join(" "),
      expiresAt: this.opts.now() + this.opts.refreshTtlSec * 1000,
    });
    const accessToken = await this.keys.sign(
      {
        sub: user.id,
        amr,
        ...(user.wallet === null ? {} : { wallet: user.wallet }),
        ...(user.email === null || !user.emailVerified ? {} : { email: user.email }),
      },
      { typ: ACCESS_TOKEN_TYP, ttlSec: this.opts.accessTtlSec, issuer: this.opts.issuer, audience: this.opts.audience },
    );
    this.metrics?.tokensIssued.inc();
    return { accessToken, tokenType: "Bearer", expiresIn: this.opts.accessTtlSec, refreshToken };
  }
}
