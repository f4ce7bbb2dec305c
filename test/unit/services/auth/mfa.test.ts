/**
 * Second factors through the HTTP routes: TOTP enrolment with recovery codes, sign-in with password + TOTP (each
 * code once), recovery codes (each once), and WebAuthn passkeys with a software authenticator — registered by a
 * signed-in account, then used as the second factor and alone.
 */
import { generate } from "otplib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SoftAuthenticator } from "../../../utils/softAuthenticator.js";
import { get, type Harness, harness, post, SQLITE, tokenOf } from "./fixtures.js";

const PASSWORD = "correct horse battery";

describe("MFA", () => {
  let h: Harness;
  let access: string;
  const signIn = () => post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD });

  beforeEach(async () => {
    h = await harness(SQLITE);
    await post(h.app, "/v1/accounts", { email: "ada@example.org", password: PASSWORD });
    await post(h.app, "/v1/email/verify", { token: tokenOf(h.mailer.sent[0].link) });
    access = (await signIn()).body.accessToken;
  });
  afterEach(async () => {
    await h.close();
  });

  const code = (secret: string) => generate({ secret, epoch: Math.floor(h.clock.ms / 1000) });

  it("TOTP: enrol, then sign-in needs a code; a code works once; recovery codes work once each", async () => {
    const setup = await post(h.app, "/v1/mfa/totp/setup", {}, access);
    expect(setup.status).toBe(200);
    expect(setup.body.uri).toMatch(/^otpauth:\/\/totp\/Azora:ada%40example\.org\?/);
    const wrong = await post(h.app, "/v1/mfa/totp/enable", { code: "000000" }, access);
    expect(wrong.body.error).toBe("AUTH_MFA_INVALID_CODE");
    const enabled = await post(h.app, "/v1/mfa/totp/enable", { code: await code(setup.body.secret) }, access);
    expect(enabled.status, JSON.stringify(enabled.body)).toBe(200);
    const recovery = enabled.body.recoveryCodes as string[];
    expect(recovery).toHaveLength(10);

    h.clock.ms += 60_000;
    const first = await signIn();
    expect(first).toMatchObject({ status: 401, body: { error: "AUTH_MFA_REQUIRED", methods: ["totp"] } });
    const mfaToken = first.body.mfaToken as string;
    const c = await code(setup.body.secret);
    const done = await post(h.app, "/v1/mfa/totp/verify", { mfaToken, code: c });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect((await get(h.app, "/v1/me", done.body.accessToken)).body.mfa).toEqual(["totp"]);
    const replay = await post(h.app, "/v1/mfa/totp/verify", { mfaToken, code: c });
    expect(replay.body.error).toBe("AUTH_MFA_INVALID_CODE");

    const viaRecovery = await post(h.app, "/v1/mfa/totp/verify", { mfaToken, recoveryCode: recovery[0].toUpperCase() });
    expect(viaRecovery.status).toBe(200);
    const again = await post(h.app, "/v1/mfa/totp/verify", { mfaToken, recoveryCode: recovery[0] });
    expect(again.body.error).toBe("AUTH_MFA_INVALID_CODE");
    // The ticket is not an access token, and it expires.
    expect((await get(h.app, "/v1/me", mfaToken)).body.error).toBe("AUTH_INVALID_TOKEN");
    h.clock.ms += 301_000;
    const late = await post(h.app, "/v1/mfa/totp/verify", { mfaToken, recoveryCode: recovery[1] });
    expect(late.body.error).toBe("AUTH_INVALID_TOKEN");

    // Guessing codes after the password counts toward the lockout (maxFailures 5, counted since the last good password).
    const ticket = (await signIn()).body.mfaToken as string;
    const guesses = [];
    for (let i = 0; i < 5; i++)
      guesses.push((await post(h.app, "/v1/mfa/totp/verify", { mfaToken: ticket, code: "123456" })).body.error);
    expect(guesses).toEqual([...Array(4).fill("AUTH_MFA_INVALID_CODE"), "AUTH_ACCOUNT_LOCKED"]);
    const locked = await post(h.app, "/v1/mfa/totp/verify", { mfaToken: ticket, code: await code(setup.body.secret) });
    expect(locked.body.error).toBe("AUTH_ACCOUNT_LOCKED");
  });

  it("WebAuthn: registers a passkey; it then completes a password sign-in and signs in alone", async () => {
    const authenticator = new SoftAuthenticator("localhost", "http://localhost:8090");
    const opts = await post(h.app, "/v1/webauthn/register/options", {}, access);
    expect(opts.status, JSON.stringify(opts.body)).toBe(200);
    const reg = await post(
      h.app,
      "/v1/webauthn/register/verify",
      { challengeId: opts.body.challengeId, response: authenticator.create(opts.body.options) },
      access,
    );
    expect(reg.status, JSON.stringify(reg.body)).toBe(200);

    const first = await signIn();
    expect(first.body).toMatchObject({ error: "AUTH_MFA_REQUIRED", methods: ["webauthn"] });
    const aOpts = await post(h.app, "/v1/webauthn/sign-in/options", { mfaToken: first.body.mfaToken });
    expect(aOpts.body.options.allowCredentials).toHaveLength(1);
    const done = await post(h.app, "/v1/webauthn/sign-in/verify", {
      challengeId: aOpts.body.challengeId,
      response: authenticator.get(aOpts.body.options),
      mfaToken: first.body.mfaToken,
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    // The challenge was single use.
    const replay = await post(h.app, "/v1/webauthn/sign-in/verify", {
      challengeId: aOpts.body.challengeId,
      response: authenticator.get(aOpts.body.options),
    });
    expect(replay.body.error).toBe("AUTH_WEBAUTHN_FAILED");

    const alone = await post(h.app, "/v1/webauthn/sign-in/options", {});
    const r = await post(h.app, "/v1/webauthn/sign-in/verify", {
      challengeId: alone.body.challengeId,
      response: authenticator.get(alone.body.options),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const me = await get(h.app, "/v1/me", r.body.accessToken);
    expect(me.body.email).toBe("ada@example.org");

    const stranger = new SoftAuthenticator("localhost", "http://localhost:8090");
    const o2 = await post(h.app, "/v1/webauthn/sign-in/options", {});
    const bad = await post(h.app, "/v1/webauthn/sign-in/verify", {
      challengeId: o2.body.challengeId,
      response: stranger.get(o2.body.options),
    });
    expect(bad).toMatchObject({ status: 401, body: { error: "AUTH_WEBAUTHN_FAILED" } });
  });
});
