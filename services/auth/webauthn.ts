/**
 * Passkeys (WebAuthn, `@simplewebauthn/server`): a signed-in account registers a credential; later an assertion by
 * it signs the account in — alone (a discoverable passkey) or as the second factor after a password. Challenges
 * are stored server-side, single use, five minutes; signature counters that go backwards are refused.
 */
import { randomUUID } from "node:crypto";
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { AuthError, AuthErrorCode } from "./errors.js";
import type { AuthRepository, UserRow } from "./store/repository.js";

const CHALLENGE_TTL_MS = 5 * 60_000;

export class Passkeys {
  constructor(
    private readonly repo: AuthRepository,
    private readonly o: { rpId: string; rpName: string; origin: string; now: () => number },
  ) {}

  async registrationOptions(user: UserRow) {
    const existing = await this.repo.passkeysOf(user.id);
    const options = await generateRegistrationOptions({
      rpName: this.o.rpName,
      rpID: this.o.rpId,
      userName: user.email ?? user.wallet ?? user.id,
      userID: new TextEncoder().encode(user.id),
      attestationType: "none",
      excludeCredentials: existing.map((p) => ({ id: p.id, transports: transportsOf(p.transports) })),
      authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
    });
    const challengeId = randomUUID();
    await this.repo.saveChallenge({
      id: challengeId,
      userId: user.id,
      purpose: "webauthn-register",
      challenge: options.challenge,
      expiresAt: this.o.now() + CHALLENGE_TTL_MS,
    });
    return { challengeId, options };
  }

  async register(user: UserRow, challengeId: string, response: Record<string, unknown>) {
    const c = await this.repo.consumeChallenge(challengeId, "webauthn-register", this.o.now());
    if (c === undefined || c.userId !== user.id) throw failed("unknown or expired challenge");
    let v: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      v = await verifyRegistrationResponse({
        response: response as unknown as RegistrationResponseJSON,
        expectedChallenge: c.challenge,
        expectedOrigin: this.o.origin,
        expectedRPID: this.o.rpId,
        requireUserVerification: false,
      });
    } catch (e) {
      throw failed((e as Error).message);
    }
    if (!v.verified || v.registrationInfo === undefined) throw failed("registration not verified");
    const cred = v.registrationInfo.credential;
    if ((await this.repo.passkey(cred.id)) !== undefined) throw failed("credential already registered");
    await this.repo.savePasskey({
      id: cred.id,
      userId: user.id,
      publicKey: Buffer.from(cred.publicKey).toString("base64url"),
      counter: cred.counter,
      transports: (cred.transports ?? []).join(","),
      now: this.o.now(),
    });
    return { credentialId: cred.id };
  }

  /** Options for an assertion: limited to the account's credentials when the user is known (second factor). */
  async authenticationOptions(ticket?: { userId: string }) {
    const allow = ticket === undefined ? [] : await this.repo.passkeysOf(ticket.userId);
    const options = await generateAuthenticationOptions({
      rpID: this.o.rpId,
      allowCredentials: allow.map((p) => ({ id: p.id, transports: transportsOf(p.transports) })),
      userVerification: "preferred",
    });
    const challengeId = randomUUID();
    await this.repo.saveChallenge({
      id: challengeId,
      userId: ticket?.userId ?? null,
      purpose: "webauthn-login",
      challenge: options.challenge,
      expiresAt: this.o.now() + CHALLENGE_TTL_MS,
    });
    return { challengeId, options };
  }

  async authenticate(
    challengeId: string,
    response: Record<string, unknown>,
    expectedUserId?: string,
  ): Promise<UserRow> {
    const c = await this.repo.consumeChallenge(challengeId, "webauthn-login", this.o.now());
    if (c === undefined || (c.userId !== null && c.userId !== expectedUserId))
      throw failed("unknown or expired challenge");
    const id = typeof response.id === "string" ? response.id : "";
    const pk = await this.repo.passkey(id);
    if (pk === undefined) throw failed("unknown credential");
    if (expectedUserId !== undefined && pk.userId !== expectedUserId) throw failed("credential of another account");
    let v: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      v = await verifyAuthenticationResponse({
        response: response as unknown as AuthenticationResponseJSON,
        expectedChallenge: c.challenge,
        expectedOrigin: this.o.origin,
        expectedRPID: this.o.rpId,
        credential: {
          id: pk.id,
          publicKey: new Uint8Array(Buffer.from(pk.publicKey, "base64url")),
          counter: pk.counter,
          transports: transportsOf(pk.transports),
        },
        requireUserVerification: false,
      });
    } catch (e) {
      throw failed((e as Error).message);
    }
    if (!v.verified) throw failed("assertion not verified");
    await this.repo.setPasskeyCounter(pk.id, v.authenticationInfo.newCounter);
    const user = await this.repo.userById(pk.userId);
    if (user === undefined) throw failed("account is gone");
    return user;
  }
}

const transportsOf = (s: string) => (s === "" ? [] : (s.split(",") as AuthenticatorTransport[]));
const failed = (reason: string) => new AuthError({ code: AuthErrorCode.WEBAUTHN_FAILED, reason });
