/**
 * "Log in with Azora": a relying party completes the authorization code flow with PKCE against the provider over
 * real HTTP on loopback — discovery, authorize, the login and consent interactions (the user signed in with a
 * password first), the code exchange, userinfo with the linked email and wallet — and PKCE is enforced.
 */
import { createHash, randomBytes } from "node:crypto";
import { Wallet } from "ethers";
import { SiweMessage } from "siwe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../utils/workers.js";
import { type Body, type Harness, harness, post, SQLITE, tokenOf } from "./fixtures.js";

const REDIRECT = "http://127.0.0.1:1/callback";
let h: Harness;
let base: string;
let accessToken: string;
const wallet = Wallet.createRandom();

/** A relying party's HTTP client: keeps cookies (by name; paths ignored), never follows redirects. */
class Browser {
  private readonly jar = new Map<string, string>();
  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const r = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join("; "),
      },
    });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      this.jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return r;
  }
  /** Follows the redirect chain until it leaves for `stopAt` or lands on an interaction. */
  async follow(r: Response, stopAt: string): Promise<string> {
    let res = r;
    for (let hops = 0; hops < 10; hops++) {
      expect([302, 303], await res.clone().text()).toContain(res.status);
      const to = new URL(res.headers.get("location") as string, base).toString();
      if (to.startsWith(stopAt) || to.includes("/interaction/")) return to;
      res = await this.go(to);
    }
    throw new Error("too many redirects");
  }
}

const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  h = await harness(
    SQLITE,
    {
      issuer: base,
      siwe: { domain: "app.azora.test" },
      oidc: {
        clients: [{ client_id: "course-app", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }],
        cookieKeys: ["k".repeat(32)],
      },
    },
    { realClock: true },
  );
  await h.app.listen({ host: "127.0.0.1", port });
  // The user: a password account (email verified) that also linked a wallet by SIWE.
  await post(h.app, "/v1/accounts", { email: "ada@example.org", password: "correct horse battery" });
  await post(h.app, "/v1/email/verify", { token: tokenOf(h.mailer.sent[0].link) });
  accessToken = (
    await post(h.app, "/v1/password/sign-in", { email: "ada@example.org", password: "correct horse battery" })
  ).body.accessToken;
  const { nonce } = (await post(h.app, "/v1/siwe/nonce", {})).body;
  const message = new SiweMessage({
    domain: "app.azora.test",
    address: wallet.address,
    uri: "https://app.azora.test",
    version: "1",
    chainId: 16730,
    nonce,
    issuedAt: new Date().toISOString(),
  }).prepareMessage();
  const linked = await post(
    h.app,
    "/v1/me/wallet",
    { message, signature: await wallet.signMessage(message) },
    accessToken,
  );
  expect(linked.status, JSON.stringify(linked.body)).toBe(200);
});

afterAll(async () => {
  await h?.close();
});

describe("OpenID Connect provider", () => {
  it("completes authorization code + PKCE with login and consent, and serves userinfo with email and wallet", async () => {
    const discovery = (await (await fetch(`${base}/oidc/.well-known/openid-configuration`)).json()) as Body;
    expect(discovery.issuer).toBe(`${base}/oidc`);
    expect(discovery.code_challenge_methods_supported).toEqual(["S256"]);
    const b = new Browser();
    const { verifier, challenge } = pkce();
    const auth = new URL(discovery.authorization_endpoint);
    for (const [k, v] of Object.entries({
      client_id: "course-app",
      redirect_uri: REDIRECT,
      response_type: "code",
      scope: "openid email wallet",
      state: "s-123",
      nonce: "n-456",
      code_challenge: challenge,
      code_challenge_method: "S256",
    }))
      auth.searchParams.set(k, v);
    let at = await b.follow(await b.go(auth.toString()), REDIRECT);
    const login = (await (await b.go(at)).json()) as Body;
    expect(login).toMatchObject({ prompt: "login", clientId: "course-app" });
    at = await b.follow(
      await b.go(`${at}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ accessToken }),
      }),
      REDIRECT,
    );
    const consent = (await (await b.go(at)).json()) as Body;
    expect(consent.prompt).toBe("consent");
    at = await b.follow(await b.go(`${at}/consent`, { method: "POST" }), REDIRECT);
    const cb = new URL(at);
    expect(cb.searchParams.get("state")).toBe("s-123");
    const code = cb.searchParams.get("code") as string;
    expect(code).toBeTruthy();

    const exchange = (v: string) =>
      fetch(discovery.token_endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: REDIRECT,
          client_id: "course-app",
          code_verifier: v,
        }),
      });
    const wrong = await exchange(pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as Body).error).toBe("invalid_grant");
    const r = await exchange(verifier);
    const tokens = (await r.json()) as Body;
    expect(r.status, JSON.stringify(tokens)).toBe(200);
    expect(JSON.parse(Buffer.from(tokens.id_token.split(".")[0], "base64url").toString()).alg).toBe("EdDSA");
    const info = (await (
      await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    ).json()) as Body;
    expect(info).toMatchObject({ email: "ada@example.org", email_verified: true, wallet_address: wallet.address });
    // A code works once.
    const replay = await exchange(verifier);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as Body).error).toBe("invalid_grant");
  });

  it("refuses an authorization request without PKCE; a second browser completes a flow of its own", async () => {
    const discovery = (await (await fetch(`${base}/oidc/.well-known/openid-configuration`)).json()) as Body;
    const b = new Browser();
    const { verifier, challenge } = pkce();
    const params = {
      client_id: "course-app",
      redirect_uri: REDIRECT,
      response_type: "code",
      scope: "openid email wallet",
      state: "s-2",
    };
    const noPkce = await b.follow(
      await b.go(`${discovery.authorization_endpoint}?${new URLSearchParams(params)}`),
      REDIRECT,
    );
    expect(new URL(noPkce).searchParams.get("error")).toBe("invalid_request");

    let at = await b.follow(
      await b.go(
        `${discovery.authorization_endpoint}?${new URLSearchParams({ ...params, code_challenge: challenge, code_challenge_method: "S256" })}`,
      ),
      REDIRECT,
    );
    at = await b.follow(
      await b.go(`${at}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ accessToken }),
      }),
      REDIRECT,
    );
    // A new browser is a new provider session: consent is asked again (grants are kept per session).
    at = await b.follow(await b.go(`${at}/consent`, { method: "POST" }), REDIRECT);
    const code = new URL(at).searchParams.get("code") as string;
    const r = await fetch(discovery.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: REDIRECT,
        client_id: "course-app",
        code_verifier: verifier,
      }),
    });
    const tokens = (await r.json()) as Body;
    expect(r.status, JSON.stringify(tokens)).toBe(200);
    expect(tokens.id_token.split(".")).toHaveLength(3);
  });
});
