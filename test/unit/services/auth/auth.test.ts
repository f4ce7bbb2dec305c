/**
 * Azora Auth over its HTTP routes (fastify inject) on each store: SQLite always, PostgreSQL when AZORA_TEST_PG_URL
 * is set (`.ci/run` starts one). Password accounts with mail links, lockout, SIWE, sessions with rotation and reuse
 * detection, and the security refusals (SQL injection, forged JWTs, expired SIWE messages, replayed nonces).
 */
import { Wallet } from "ethers";
import { generateKeyPair, SignJWT } from "jose";
import { SiweMessage } from "siwe";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAccessTokenVerifier } from "../../../../services/auth/index.js";
import { BACKENDS, get, type Harness, harness, PG_URL, post, SQLITE, tokenOf } from "./fixtures.js";

const PASSWORD = "correct horse battery";
const alice = Wallet.createRandom();

function siweMessage(o: {
  nonce: string;
  address?: string;
  domain?: string;
  chainId?: number;
  expires?: Date;
  issued?: Date;
}) {
  return new SiweMessage({
    domain: o.domain ?? "app.azora.test",
    address: o.address ?? alice.address,
    statement: "Sign in to Azora",
    uri: `https://${o.domain ?? "app.azora.test"}/login`,
    version: "1",
    chainId: o.chainId ?? 16730,
    nonce: o.nonce,
    issuedAt: (o.issued ?? new Date("2026-12-05T11:59:00Z")).toISOString(),
    expirationTime: (o.expires ?? new Date("2026-12-05T12:10:00Z")).toISOString(),
  }).prepareMessage();
}

async function registered(h: Harness, email = "ada@example.org") {
  const r = await post(h.app, "/v1/accounts", { email, password: PASSWORD });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const mail = h.mailer.sent.at(-1);
  expect(mail?.kind).toBe("verify-email");
  expect(mail?.to).toBe(email);
  expect((await post(h.app, "/v1/email/verify", { token: tokenOf(mail?.link as string) })).status).toBe(200);
  return r.body.userId as string;
}

const rows = async (h: Harness, table: string) =>
  Number((await h.db.all<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);

if (PG_URL === undefined)
  describe("Azora Auth on PostgreSQL", () => {
    it.skip("skipped: AZORA_TEST_PG_URL is unset (`.ci/run` sets it; locally start one with .ci/postgres.sh)", () => {});
  });

describe.each(BACKENDS)("Azora Auth on $name", (backend) => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(backend, { password: { maxFailures: 3, lockoutSec: 600 } });
  });
  afterEach(async () => {
    await h.close();
  });

  describe("email + password", () => {
    it("registers, verifies the email by the mailed link, signs in; the access token verifies against the JWKS", async () => {
      const id = await registered(h);
      const r = await post(h.app, "/v1/password/sign-in", { email: "Ada@Example.org", password: PASSWORD });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const jwks = (await get(h.app, "/.well-known/jwks.json")).body;
      expect(jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
      expect(jwks.keys[0].d).toBeUndefined();
      const verify = createAccessTokenVerifier({
        issuer: "http://127.0.0.1:8090",
        audience: "azora",
        jwks: jwks as never,
        now: () => h.clock.ms,
      });
      const claims = await verify(r.body.accessToken);
      expect(claims).toMatchObject({ sub: id, amr: ["pwd"], email: "ada@example.org" });
      const me = await get(h.app, "/v1/me", r.body.accessToken);
      expect(me.body).toMatchObject({ id, email: "ada@example.org", emailVerified: true, wallet: null, mfa: [] });
    });

    it("AUTH_EMAIL_NOT_VERIFIED before the link is used; AUTH_EMAIL_TAKEN for a second registration", async () => {
      await post(h.app, "/v1/accounts", { email: "bo@example.org", password: PASSWORD });
      const r = await post(h.app, "/v1/password/sign-in", { email: "bo@example.org", password: PASSWORD });
      expect(r).toMatchObject({ status: 403, body: { error: "AUTH_EMAIL_NOT_VERIFIED" } });
      const again = await post(h.app, "/v1/accounts", { email: "BO@example.org", password: PASSWORD });
      expect(again).toMatchObject({ status: 409, body: { error: "AUTH_EMAIL_TAKEN" } });
      expect(await rows(h, "users")).toBe(1);
    });

    it("locks the account after N wrong passwords (AUTH_ACCOUNT_LOCKED, even with the right one) until the lockout ends", async () => {
      await registered(h);
      for (let i = 1; i <= 2; i++) {
        const r = await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: `wrong ${i} guess` });
        expect(r, `attempt ${i}`).toMatchObject({ status: 401, body: { error: "AUTH_INVALID_CREDENTIALS" } });
      }
      const third = await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: "wrong 3 guess" });
      expect(third).toMatchObject({ status: 423, body: { error: "AUTH_ACCOUNT_LOCKED" } });
      const right = await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD });
      expect(right).toMatchObject({ status: 423, body: { error: "AUTH_ACCOUNT_LOCKED" } });
      h.clock.ms += 601_000;
      expect((await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD })).status).toBe(
        200,
      );
    });

    it("resets the password by mail: the old password stops working, the link works once, sessions end", async () => {
      await registered(h);
      const s = await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD });
      expect((await post(h.app, "/v1/password/reset-request", { email: "ada@example.org" })).status).toBe(202);
      expect((await post(h.app, "/v1/password/reset-request", { email: "nobody@example.org" })).status).toBe(202);
      const mail = h.mailer.sent.at(-1);
      expect(mail).toMatchObject({ kind: "reset-password", to: "ada@example.org" });
      const token = tokenOf(mail?.link as string);
      expect((await post(h.app, "/v1/password/reset", { token, password: "a new long password" })).status).toBe(200);
      const reuse = await post(h.app, "/v1/password/reset", { token, password: "another new password" });
      expect(reuse).toMatchObject({ status: 401, body: { error: "AUTH_INVALID_MAIL_TOKEN" } });
      const old = await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD });
      expect(old.body.error).toBe("AUTH_INVALID_CREDENTIALS");
      expect(
        (await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: "a new long password" }))
          .status,
      ).toBe(200);
      const refresh = await post(h.app, "/v1/token/refresh", { refreshToken: s.body.refreshToken });
      expect(refresh.status).toBe(401);
    });
  });

  describe("sessions", () => {
    it("rotates refresh tokens; a reused one revokes the family (AUTH_REFRESH_TOKEN_REUSED)", async () => {
      await registered(h);
      const first = (await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD })).body;
      const other = (await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD })).body;
      const second = await post(h.app, "/v1/token/refresh", { refreshToken: first.refreshToken });
      expect(second.status).toBe(200);
      expect(second.body.refreshToken).not.toBe(first.refreshToken);
      const third = await post(h.app, "/v1/token/refresh", { refreshToken: second.body.refreshToken });
      expect(third.status).toBe(200);
      // The first token again: a thief or a confused client — the family ends.
      const reuse = await post(h.app, "/v1/token/refresh", { refreshToken: first.refreshToken });
      expect(reuse).toMatchObject({ status: 401, body: { error: "AUTH_REFRESH_TOKEN_REUSED" } });
      const newest = await post(h.app, "/v1/token/refresh", { refreshToken: third.body.refreshToken });
      expect(newest).toMatchObject({ status: 401, body: { error: "AUTH_INVALID_REFRESH_TOKEN" } });
      // Another sign-in (another family) is untouched.
      expect((await post(h.app, "/v1/token/refresh", { refreshToken: other.refreshToken })).status).toBe(200);
    });

    it("sign-out everywhere revokes every refresh token of the account", async () => {
      await registered(h);
      const a = (await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD })).body;
      const b = (await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD })).body;
      const r = await post(h.app, "/v1/sign-out-everywhere", {}, a.accessToken);
      expect(r).toMatchObject({ status: 200, body: { revoked: 2 } });
      for (const t of [a, b])
        expect((await post(h.app, "/v1/token/refresh", { refreshToken: t.refreshToken })).body.error).toBe(
          "AUTH_INVALID_REFRESH_TOKEN",
        );
    });

    it("keeps verifying tokens of a rotated key while it is published; refuses expired tokens", async () => {
      await registered(h);
      const a = (await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD })).body;
      await h.core.keys.rotate();
      const b = (await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD })).body;
      const jwks = (await get(h.app, "/.well-known/jwks.json")).body;
      expect(jwks.keys).toHaveLength(2);
      expect((await get(h.app, "/v1/me", a.accessToken)).status).toBe(200);
      expect((await get(h.app, "/v1/me", b.accessToken)).status).toBe(200);
      h.clock.ms += 910_000; // past 900 s plus the 5 s clock tolerance
      const expired = await get(h.app, "/v1/me", b.accessToken);
      expect(expired).toMatchObject({
        status: 401,
        body: { error: "AUTH_INVALID_TOKEN", message: expect.stringContaining("expired") },
      });
    });
  });

  describe("Sign-In with Ethereum", () => {
    it("signs in an EOA with a fresh nonce and makes its account once", async () => {
      const { nonce } = (await post(h.app, "/v1/siwe/nonce", {})).body;
      const message = siweMessage({ nonce });
      const r = await post(h.app, "/v1/siwe/verify", { message, signature: await alice.signMessage(message) });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const me = await get(h.app, "/v1/me", r.body.accessToken);
      expect(me.body.wallet).toBe(alice.address);
      const n2 = (await post(h.app, "/v1/siwe/nonce", {})).body.nonce;
      const m2 = siweMessage({ nonce: n2 });
      const again = await post(h.app, "/v1/siwe/verify", { message: m2, signature: await alice.signMessage(m2) });
      expect((await get(h.app, "/v1/me", again.body.accessToken)).body.id).toBe(me.body.id);
      expect(await rows(h, "users")).toBe(1);
    });

    it("a wallet account links an email (verified by mail) and a password; a wallet links to one account only", async () => {
      const { nonce } = (await post(h.app, "/v1/siwe/nonce", {})).body;
      const message = siweMessage({ nonce });
      const s = (await post(h.app, "/v1/siwe/verify", { message, signature: await alice.signMessage(message) })).body;
      const linked = await post(
        h.app,
        "/v1/me/email",
        { email: "alice@example.org", password: PASSWORD },
        s.accessToken,
      );
      expect(linked.status, JSON.stringify(linked.body)).toBe(202);
      expect(
        (await post(h.app, "/v1/email/verify", { token: tokenOf(h.mailer.sent.at(-1)?.link as string) })).status,
      ).toBe(200);
      const viaPassword = await post(h.app, "/v1/password/sign-in", { email: "alice@example.org", password: PASSWORD });
      const me = await get(h.app, "/v1/me", viaPassword.body.accessToken);
      expect(me.body).toMatchObject({ email: "alice@example.org", emailVerified: true, wallet: alice.address });

      const otherId = await registered(h, "bo@example.org");
      const other = (await post(h.app, "/v1/password/sign-in", { email: "bo@example.org", password: PASSWORD })).body;
      const n2 = (await post(h.app, "/v1/siwe/nonce", {})).body.nonce;
      const m2 = siweMessage({ nonce: n2 });
      const taken = await post(
        h.app,
        "/v1/me/wallet",
        { message: m2, signature: await alice.signMessage(m2) },
        other.accessToken,
      );
      expect(taken).toMatchObject({ status: 409, body: { error: "AUTH_WALLET_TAKEN" } });
      expect((await h.core.repo.userById(otherId))?.wallet).toBeNull();
    });

    it("refuses a replayed nonce (AUTH_SIWE_BAD_NONCE) and a nonce never issued", async () => {
      const { nonce } = (await post(h.app, "/v1/siwe/nonce", {})).body;
      const message = siweMessage({ nonce });
      const signature = await alice.signMessage(message);
      expect((await post(h.app, "/v1/siwe/verify", { message, signature })).status).toBe(200);
      const replay = await post(h.app, "/v1/siwe/verify", { message, signature });
      expect(replay).toMatchObject({ status: 401, body: { error: "AUTH_SIWE_BAD_NONCE" } });
      const forged = siweMessage({ nonce: "abcdefgh12345678" });
      const r = await post(h.app, "/v1/siwe/verify", { message: forged, signature: await alice.signMessage(forged) });
      expect(r).toMatchObject({ status: 401, body: { error: "AUTH_SIWE_BAD_NONCE" } });
      expect(await rows(h, "refresh_tokens")).toBe(1);
    });

    it("refuses expired messages, other domains, other chains and other signers; stores nothing", async () => {
      const cases: [string, (nonce: string) => string, Wallet | undefined, number, string][] = [
        [
          "expired",
          (n) => siweMessage({ nonce: n, expires: new Date("2026-12-05T11:59:59Z") }),
          undefined,
          401,
          "AUTH_SIWE_EXPIRED",
        ],
        [
          "other domain",
          (n) => siweMessage({ nonce: n, domain: "evil.example" }),
          undefined,
          400,
          "AUTH_SIWE_INVALID_MESSAGE",
        ],
        ["other chain", (n) => siweMessage({ nonce: n, chainId: 1 }), undefined, 400, "AUTH_SIWE_INVALID_MESSAGE"],
        [
          "other signer",
          (n) => siweMessage({ nonce: n }),
          Wallet.createRandom() as unknown as Wallet,
          401,
          "AUTH_SIWE_BAD_SIGNATURE",
        ],
        ["not EIP-4361", () => "please let me in", undefined, 400, "AUTH_SIWE_INVALID_MESSAGE"],
      ];
      for (const [name, make, signer, status, error] of cases) {
        const { nonce } = (await post(h.app, "/v1/siwe/nonce", {})).body;
        const message = make(nonce);
        const r = await post(h.app, "/v1/siwe/verify", {
          message,
          signature: await (signer ?? alice).signMessage(message),
        });
        expect(r, name).toMatchObject({ status, body: { error } });
      }
      expect(await rows(h, "users")).toBe(0);
      expect(await rows(h, "refresh_tokens")).toBe(0);
    });
  });

  describe("security", () => {
    it("treats SQL injection attempts as data: refused or stored verbatim, tables intact", async () => {
      await registered(h);
      const attempts = [
        "' OR '1'='1",
        "ada@example.org' --",
        "x@y.z'; DROP TABLE users; --",
        'ada@example.org" OR 1=1 --',
      ];
      for (const email of attempts) {
        const r = await post(h.app, "/v1/password/sign-in", { email, password: "' OR '1'='1" });
        expect(r.status, email).toBeGreaterThanOrEqual(400);
        expect(r.body.error, email).toMatch(/^AUTH_(INVALID_REQUEST|INVALID_CREDENTIALS)$/);
        const reg = await post(h.app, "/v1/accounts", { email, password: PASSWORD });
        expect(reg.body.error, email).toBe("AUTH_INVALID_REQUEST");
      }
      const right = await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: "' OR ''='" });
      expect(right.body.error).toBe("AUTH_INVALID_CREDENTIALS");
      const refresh = await post(h.app, "/v1/token/refresh", { refreshToken: "' OR used_at IS NULL --" });
      expect(refresh.body.error).toBe("AUTH_INVALID_REFRESH_TOKEN");
      expect(await rows(h, "users")).toBe(1);
      expect(await rows(h, "refresh_tokens")).toBe(0);
    });

    it("refuses JWTs with alg none, HS256 over our public key, a foreign key (same kid) and a wrong issuer", async () => {
      const id = await registered(h);
      const good = (await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: PASSWORD })).body
        .accessToken;
      const [header] = good.split(".");
      const kid = JSON.parse(Buffer.from(header, "base64url").toString()).kid as string;
      const now = Math.floor(h.clock.ms / 1000);
      const claims = {
        sub: id,
        amr: ["pwd"],
        iss: "http://127.0.0.1:8090",
        aud: "azora",
        iat: now,
        exp: now + 600,
        jti: "x",
      };
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
      const none = `${b64({ alg: "none", typ: "at+jwt" })}.${b64(claims)}.`;
      const jwks = (await get(h.app, "/.well-known/jwks.json")).body;
      const hs = await new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid })
        .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
      const foreign = (await generateKeyPair("EdDSA", { crv: "Ed25519" })).privateKey;
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid }).sign(foreign);
      const stranger = await new SignJWT(claims)
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: "not-ours" })
        .sign(foreign);
      const ours = await h.core.keys.current();
      const wrongIss = await new SignJWT({ ...claims, iss: "https://evil.example" })
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: ours.kid })
        .sign(ours.privateKey);
      const mfaTicket = await h.core.mfa.ticket(id, ["pwd"]);
      const cases: [string, string, RegExp][] = [
        ["alg none", none, /algorithm|malformed/],
        ["HS256 with the public JWK as secret", hs, /algorithm/],
        ["foreign key, our kid", forged, /signature/],
        ["foreign key, unknown kid", stranger, /JWKS/],
        ["wrong issuer", wrongIss, /iss/],
        ["an MFA ticket", mfaTicket, /typ|aud/],
      ];
      for (const [name, token, reason] of cases) {
        const r = await get(h.app, "/v1/me", token);
        expect(r.status, name).toBe(401);
        expect(r.body.error, name).toBe("AUTH_INVALID_TOKEN");
        expect(r.body.message, name).toMatch(reason);
      }
      expect((await get(h.app, "/v1/me", good)).status).toBe(200);
    });
  });
});

describe("rate limits", () => {
  it("answers AUTH_RATE_LIMITED (429) past rateLimit.max sign-in requests per window from one client", async () => {
    const h = await harness(SQLITE, { rateLimit: { max: 3, windowSec: 60 } });
    try {
      for (let i = 1; i <= 3; i++) {
        const r = await post(h.app, "/v1/password/sign-in", { email: "x@example.org", password: "wrong password" });
        expect(r.body.error, `attempt ${i}`).toBe("AUTH_INVALID_CREDENTIALS");
      }
      const r = await post(h.app, "/v1/password/sign-in", { email: "x@example.org", password: "wrong password" });
      expect(r).toMatchObject({ status: 429, body: { error: "AUTH_RATE_LIMITED" } });
      // Reading the JWKS is not limited.
      expect((await get(h.app, "/.well-known/jwks.json")).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
