/**
 * "Log in with Azora": an OAuth 2.1 / OpenID Connect provider (`oidc-provider`) mounted at `<issuer>/oidc` — the
 * authorization code flow with PKCE (S256, required for every client), discovery, JWKS, userinfo, refresh tokens
 * (offline_access) and revocation. Its state lives in our repository through `SqlOIDCAdapter`.
 *
 * The interaction (who is signing in, and do they consent) is a JSON API under /interaction/:uid for the web front
 * end: the user signs in with any Azora method first (SIWE, password + MFA, passkey), and the front end hands the
 * resulting access token to /interaction/:uid/login; then /interaction/:uid/consent grants the asked scopes.
 * Claims: `email`, `email_verified` (scope email) and `wallet_address` (scope wallet) — the account's linked email
 * and wallet.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import Provider, { type Adapter, type AdapterPayload, type ClientMetadata } from "oidc-provider";
import type { AuthCore } from "./core.js";
import { AuthError, AuthErrorCode } from "./errors.js";

export const OIDC_MOUNT = "/oidc";

/** oidc-provider's storage adapter over the repository (one instance per model name). */
class SqlOIDCAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly core: Pick<AuthCore, "repo">,
    private readonly now: () => number,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    await this.core.repo.oidcUpsert({
      model: this.model,
      id,
      payload: JSON.stringify(payload),
      grantId: payload.grantId ?? null,
      userCode: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expiresAt: expiresIn ? this.now() + expiresIn * 1000 : null,
      consumedAt: null,
    });
  }

  private async by(by: "id" | "uid" | "user_code", value: string): Promise<AdapterPayload | undefined> {
    const r = await this.core.repo.oidcFind(this.model, by, value, this.now());
    if (r === undefined) return undefined;
    const p = JSON.parse(r.payload) as AdapterPayload;
    return r.consumedAt === null ? p : { ...p, consumed: Math.floor(r.consumedAt / 1000) };
  }

  find(id: string) {
    return this.by("id", id);
  }
  findByUid(uid: string) {
    return this.by("uid", uid);
  }
  findByUserCode(userCode: string) {
    return this.by("user_code", userCode);
  }
  async consume(id: string) {
    await this.core.repo.oidcConsume(this.model, id, this.now());
  }
  async destroy(id: string) {
    await this.core.repo.oidcDestroy(this.model, id);
  }
  async revokeByGrantId(grantId: string) {
    await this.core.repo.oidcRevokeByGrant(grantId);
  }
}

export interface OIDCOptions {
  clients: ClientMetadata[];
  /** Keys that sign the provider's cookies (rotate by prepending a new one). */
  cookieKeys: string[];
  now?: () => number;
}

export async function createOIDCProvider(core: AuthCore, o: OIDCOptions): Promise<Provider> {
  const now = o.now ?? Date.now;
  const signing = await core.keys.current();
  const privateJwk = { ...signing.privateJwk, use: "sig" };
  const provider = new Provider(`${core.cfg.issuer}${OIDC_MOUNT}`, {
    adapter: (name: string) => new SqlOIDCAdapter(name, core, now),
    clients: o.clients,
    clientDefaults: { id_token_signed_response_alg: "EdDSA", grant_types: ["authorization_code", "refresh_token"] },
    jwks: { keys: [privateJwk as never] },
    enabledJWA: { idTokenSigningAlgValues: ["EdDSA"] },
    pkce: { required: () => true },
    ttl: {
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 14 * 86400,
      Grant: 365 * 86400,
      AccessToken: 3600,
      IdToken: 3600,
      RefreshToken: 14 * 86400,
    },
    cookies: { keys: o.cookieKeys },
    scopes: ["openid", "offline_access", "email", "wallet"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], wallet: ["wallet_address"] },
    features: { devInteractions: { enabled: false }, revocation: { enabled: true }, userinfo: { enabled: true } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const u = await core.repo.userById(sub);
      if (u === undefined) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            ...(u.email === null ? {} : { email: u.email, email_verified: u.emailVerified }),
            ...(u.wallet === null ? {} : { wallet_address: u.wallet }),
          };
        },
      };
    },
    renderError(ctx, out) {
      ctx.type = "json";
      ctx.body = out;
    },
  });
  return provider;
}

/** Mounts the provider at /oidc and the interaction API at /interaction on the Auth fastify app. */
export async function registerOIDC(app: FastifyInstance, core: AuthCore, provider: Provider): Promise<void> {
  const callback = provider.callback();
  await app.register(async (scope) => {
    // The provider (Koa) reads request bodies itself: leave them unread here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, _payload, done) => done(null));
    const pass = async (req: { raw: IncomingMessage }, reply: { hijack(): void; raw: ServerResponse }) => {
      reply.hijack();
      const raw = req.raw as IncomingMessage & { originalUrl?: string };
      raw.originalUrl = raw.url;
      raw.url = (raw.url ?? "/").slice(OIDC_MOUNT.length) || "/";
      await callback(raw, reply.raw);
    };
    scope.all(OIDC_MOUNT, { schema: { hide: true } }, pass);
    scope.all(`${OIDC_MOUNT}/*`, { schema: { hide: true } }, pass);
  });

  const finish = async (
    req: { raw: IncomingMessage },
    reply: { hijack(): void; raw: ServerResponse },
    result: Record<string, unknown>,
  ) => {
    reply.hijack();
    await provider.interactionFinished(req.raw, reply.raw, result, { mergeWithLastSubmission: true });
  };
  const details = async (req: { raw: IncomingMessage }, reply: { raw: ServerResponse }) => {
    try {
      return await provider.interactionDetails(req.raw, reply.raw);
    } catch {
      throw new AuthError({ code: AuthErrorCode.NOT_FOUND });
    }
  };

  app.get<{ Params: { uid: string } }>(
    "/interaction/:uid",
    {
      schema: {
        summary: "What the OIDC interaction asks: login or consent, for which client and scopes",
        tags: ["oidc"],
      },
    },
    async (req, reply) => {
      const d = await details(req, reply);
      return {
        uid: d.uid,
        prompt: d.prompt.name,
        clientId: d.params.client_id,
        scope: d.params.scope,
        missingScopes: (d.prompt.details.missingOIDCScope as string[] | undefined) ?? [],
      };
    },
  );
  app.post<{ Params: { uid: string }; Body: { accessToken: string } }>(
    "/interaction/:uid/login",
    {
      schema: {
        summary: "Complete the login prompt with an Azora access token (from any sign-in method); redirects",
        tags: ["oidc"],
        body: {
          type: "object",
          required: ["accessToken"],
          additionalProperties: false,
          properties: { accessToken: { type: "string", minLength: 1, maxLength: 4096 } },
        },
      },
    },
    async (req, reply) => {
      const d = await details(req, reply);
      if (d.prompt.name !== "login")
        throw new AuthError({ code: AuthErrorCode.INVALID_REQUEST, reason: "not a login prompt" });
      const claims = await core.verifyAccessToken(req.body.accessToken);
      await finish(req, reply, { login: { accountId: claims.sub, amr: claims.amr } });
    },
  );
  app.post<{ Params: { uid: string } }>(
    "/interaction/:uid/consent",
    { schema: { summary: "Grant the client the scopes it asked for; redirects", tags: ["oidc"] } },
    async (req, reply) => {
      const d = await details(req, reply);
      if (d.prompt.name !== "consent" || d.session?.accountId === undefined)
        throw new AuthError({ code: AuthErrorCode.INVALID_REQUEST, reason: "not a consent prompt" });
      const grant =
        d.grantId === undefined
          ? new provider.Grant({ accountId: d.session.accountId, clientId: d.params.client_id as string })
          : ((await provider.Grant.find(d.grantId)) as InstanceType<typeof provider.Grant>);
      const missingScope = d.prompt.details.missingOIDCScope as string[] | undefined;
      const missingClaims = d.prompt.details.missingOIDCClaims as string[] | undefined;
      if (missingScope !== undefined) grant.addOIDCScope(missingScope.join(" "));
      if (missingClaims !== undefined) grant.addOIDCClaims(missingClaims);
      const grantId = await grant.save();
      await finish(req, reply, { consent: { grantId } });
    },
  );
  app.post<{ Params: { uid: string } }>(
    "/interaction/:uid/abort",
    { schema: { summary: "Deny: the client gets access_denied", tags: ["oidc"] } },
    async (req, reply) => {
      await details(req, reply);
      await finish(req, reply, { error: "access_denied", error_description: "the user denied the request" });
    },
  );
}
