/**
 * The Azora Auth HTTP server (`azora auth serve`): JSON routes under /v1, the JWKS at /.well-known/jwks.json,
 * `/health`, Prometheus `/metrics` and the OpenAPI description at `/openapi.json`, generated from the route schemas.
 * Errors leave through one handler: an `AuthError` becomes `{error: <code>, message, …data}` with the status its
 * code maps to; a schema failure becomes AUTH_INVALID_REQUEST; a rate limit AUTH_RATE_LIMITED (429).
 */
import { randomBytes } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import type { Logger } from "../../runtime/lib/logger.js";
import { collectProcessMetrics } from "../runtime/processMetrics.js";
import type { AuthCore } from "./core.js";
import { AuthError, AuthErrorCode, httpStatusOf, isAuthError } from "./errors.js";
import { createOIDCProvider, registerOIDC } from "./oidc.js";
import type { TokenPair } from "./sessions.js";
import type { UserRow } from "./store/repository.js";
import type { AccessClaims } from "./verifier.js";

const str = (maxLength: number) => ({ type: "string", minLength: 1, maxLength }) as const;
const body = (props: Record<string, unknown>, required = Object.keys(props)) => ({
  type: "object",
  additionalProperties: false,
  required,
  properties: props,
});
const TOKENS = {
  type: "object",
  properties: {
    accessToken: { type: "string" },
    tokenType: { type: "string", enum: ["Bearer"] },
    expiresIn: { type: "integer", description: "seconds" },
    refreshToken: { type: "string" },
  },
};
const ERROR = {
  type: "object",
  properties: { error: { type: "string", description: "AUTH_* code" }, message: { type: "string" } },
  additionalProperties: true,
};
const errors = { 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 423: ERROR, 429: ERROR, 503: ERROR };

export async function buildAuthApp(
  core: AuthCore,
  mods: { log: Logger; version: string; now?: () => number },
): Promise<FastifyInstance> {
  const { cfg, sessions, passwords, siwe, mfa, passkeys, metrics } = core;
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024 });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Azora Auth",
        description:
          "Wallet (SIWE, ERC-1271) and password sign-in, MFA (TOTP, passkeys), sessions (JWT + rotating refresh tokens)",
        version: mods.version,
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    },
  });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      error: "AUTH_RATE_LIMITED",
      message: `AUTH_RATE_LIMITED: more than ${ctx.max} sign-in requests in ${ctx.after}; retry later`,
    }),
  });
  const limited = { rateLimit: { max: cfg.rateLimit.max, timeWindow: cfg.rateLimit.windowSec * 1000 } };

  app.setErrorHandler((err, _req, reply) => {
    if (isAuthError(err)) {
      const { code, ...data } = err.type;
      return reply.status(httpStatusOf(code)).send({ error: code, message: err.message, ...data });
    }
    const e = err as { statusCode?: number; validation?: unknown; error?: string; message: string };
    if (e.validation !== undefined || e.statusCode === 400 || e.statusCode === 415)
      return reply
        .status(400)
        .send({ error: AuthErrorCode.INVALID_REQUEST, message: `${AuthErrorCode.INVALID_REQUEST}: ${e.message}` });
    if (e.statusCode === 429) return reply.status(429).send({ error: "AUTH_RATE_LIMITED", message: e.message });
    if (e.statusCode === 413)
      return reply.status(413).send({ error: AuthErrorCode.INVALID_REQUEST, message: e.message });
    mods.log.error("request failed", {}, err);
    return reply.status(500).send({ error: "AUTH_INTERNAL", message: "internal error" });
  });

  const bearer = async (req: FastifyRequest): Promise<AccessClaims> => {
    const h = req.headers.authorization;
    const m = typeof h === "string" ? /^Bearer ([A-Za-z0-9_.-]+)$/.exec(h) : null;
    if (m === null) throw new AuthError({ code: AuthErrorCode.INVALID_TOKEN, reason: "missing Bearer token" });
    return core.verifyAccessToken(m[1]);
  };
  const me = async (req: FastifyRequest): Promise<UserRow> => {
    const c = await bearer(req);
    const u = await core.repo.userById(c.sub);
    if (u === undefined) throw new AuthError({ code: AuthErrorCode.INVALID_TOKEN, reason: "account is gone" });
    return u;
  };
  /** Ends a first-factor sign-in: tokens, or a ticket for the second factor when the account has one. */
  const finish = async (method: string, user: UserRow, amr: string[]): Promise<TokenPair> => {
    const methods = await mfa.methodsOf(user);
    if (methods.length > 0) {
      const mfaToken = await mfa.ticket(user.id, amr);
      metrics.signIns.inc({ method, outcome: AuthErrorCode.MFA_REQUIRED });
      throw new AuthError({ code: AuthErrorCode.MFA_REQUIRED, mfaToken, methods });
    }
    metrics.signIns.inc({ method, outcome: "ok" });
    return sessions.start(user, amr);
  };
  const counted = async <T>(method: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (isAuthError(e) && e.code !== AuthErrorCode.MFA_REQUIRED) metrics.signIns.inc({ method, outcome: e.code });
      throw e;
    }
  };
  const tokens = { 200: TOKENS, ...errors };

  app.get("/health", { schema: { summary: "Liveness", tags: ["operations"] } }, async () => ({ status: "ok" }));
  app.get(
    "/metrics",
    { schema: { summary: "Prometheus metrics", tags: ["operations"], produces: ["text/plain"] } },
    async (_req, reply) => {
      reply.header("content-type", core.register.contentType);
      return core.register.metrics();
    },
  );
  app.get(
    "/.well-known/jwks.json",
    { schema: { summary: "Public keys of access tokens (EdDSA)", tags: ["tokens"] } },
    async () => core.keys.jwks(),
  );

  // Wallet sign-in.
  app.post(
    "/v1/siwe/nonce",
    { config: limited, schema: { summary: "A single-use SIWE nonce", tags: ["siwe"] } },
    async () => siwe.nonce(),
  );
  app.post<{ Body: { message: string; signature: string } }>(
    "/v1/siwe/verify",
    {
      config: limited,
      schema: {
        summary: "Sign in with a signed EIP-4361 message (EOA or ERC-1271 contract wallet)",
        tags: ["siwe"],
        body: body({ message: str(4096), signature: str(4098) }),
        response: tokens,
      },
    },
    async (req) =>
      counted("siwe", async () => finish("siwe", await siwe.signIn(req.body.message, req.body.signature), ["siwe"])),
  );

  // Email + password.
  app.post<{ Body: { email: string; password: string } }>(
    "/v1/accounts",
    {
      config: limited,
      schema: {
        summary: "Register with email and password; a verification link is mailed",
        tags: ["password"],
        body: body({ email: str(254), password: str(1024) }),
        response: { 201: { type: "object", properties: { userId: { type: "string" } } }, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await passwords.register(req.body.email, req.body.password)),
  );
  app.post<{ Body: { token: string } }>(
    "/v1/email/verify",
    {
      config: limited,
      schema: {
        summary: "Confirm an email with the mailed token",
        tags: ["password"],
        body: body({ token: str(128) }),
      },
    },
    async (req) => {
      await passwords.verifyEmail(req.body.token);
      return { verified: true };
    },
  );
  app.post<{ Body: { email: string; password: string } }>(
    "/v1/password/sign-in",
    {
      config: limited,
      schema: {
        summary: "Sign in with email and password",
        tags: ["password"],
        body: body({ email: str(254), password: str(1024) }),
        response: tokens,
      },
    },
    async (req) =>
      counted("password", async () =>
        finish("password", await passwords.authenticate(req.body.email, req.body.password), ["pwd"]),
      ),
  );
  app.post<{ Body: { email: string } }>(
    "/v1/password/reset-request",
    {
      config: limited,
      schema: {
        summary: "Mail a reset link (202 whether or not the account exists)",
        tags: ["password"],
        body: body({ email: str(254) }),
      },
    },
    async (req, reply) => {
      await passwords.requestReset(req.body.email);
      return reply.status(202).send({ accepted: true });
    },
  );
  app.post<{ Body: { token: string; password: string } }>(
    "/v1/password/reset",
    {
      config: limited,
      schema: {
        summary: "Set a new password with the mailed token; ends every session",
        tags: ["password"],
        body: body({ token: str(128), password: str(1024) }),
      },
    },
    async (req) => {
      await passwords.confirmReset(req.body.token, req.body.password);
      return { reset: true };
    },
  );

  // Second factor.
  app.post<{ Body: { mfaToken: string; code?: string; recoveryCode?: string } }>(
    "/v1/mfa/totp/verify",
    {
      config: limited,
      schema: {
        summary: "Finish a sign-in with a TOTP code or a recovery code",
        tags: ["mfa"],
        body: body({ mfaToken: str(2048), code: str(16), recoveryCode: str(64) }, ["mfaToken"]),
        response: tokens,
      },
    },
    async (req) =>
      counted("mfa", async () => {
        const { user, amr } = await mfa.completeWithTotp(req.body.mfaToken, req.body);
        metrics.signIns.inc({ method: "mfa", outcome: "ok" });
        return sessions.start(user, amr);
      }),
  );
  app.post(
    "/v1/mfa/totp/setup",
    {
      schema: {
        summary: "Start TOTP enrolment: a secret and otpauth:// URI",
        tags: ["mfa"],
        security: [{ bearer: [] }],
      },
    },
    async (req) => mfa.setupTotp(await me(req)),
  );
  app.post<{ Body: { code: string } }>(
    "/v1/mfa/totp/enable",
    {
      config: limited,
      schema: {
        summary: "Confirm TOTP with a first code; returns single-use recovery codes",
        tags: ["mfa"],
        security: [{ bearer: [] }],
        body: body({ code: str(16) }),
      },
    },
    async (req) => mfa.enableTotp(await me(req), req.body.code),
  );

  // Passkeys (WebAuthn).
  app.post(
    "/v1/webauthn/register/options",
    {
      schema: {
        summary: "Options to create a passkey for the signed-in account",
        tags: ["webauthn"],
        security: [{ bearer: [] }],
      },
    },
    async (req) => passkeys.registrationOptions(await me(req)),
  );
  app.post<{ Body: { challengeId: string; response: Record<string, unknown> } }>(
    "/v1/webauthn/register/verify",
    {
      schema: {
        summary: "Store the passkey the authenticator made",
        tags: ["webauthn"],
        security: [{ bearer: [] }],
        body: body({ challengeId: str(64), response: { type: "object" } }),
      },
    },
    async (req) => passkeys.register(await me(req), req.body.challengeId, req.body.response),
  );
  app.post<{ Body: { mfaToken?: string } }>(
    "/v1/webauthn/sign-in/options",
    {
      config: limited,
      schema: {
        summary: "Options to sign in with a passkey (as second factor with mfaToken, or alone)",
        tags: ["webauthn"],
        body: body({ mfaToken: str(2048) }, []),
      },
    },
    async (req) =>
      passkeys.authenticationOptions(
        req.body?.mfaToken === undefined ? undefined : await mfa.redeem(req.body.mfaToken),
      ),
  );
  app.post<{ Body: { challengeId: string; response: Record<string, unknown>; mfaToken?: string } }>(
    "/v1/webauthn/sign-in/verify",
    {
      config: limited,
      schema: {
        summary: "Sign in with a passkey assertion",
        tags: ["webauthn"],
        body: body({ challengeId: str(64), response: { type: "object" }, mfaToken: str(2048) }, [
          "challengeId",
          "response",
        ]),
        response: tokens,
      },
    },
    async (req) =>
      counted("webauthn", async () => {
        const ticket = req.body.mfaToken === undefined ? undefined : await mfa.redeem(req.body.mfaToken);
        const user = await passkeys.authenticate(req.body.challengeId, req.body.response, ticket?.userId);
        metrics.signIns.inc({ method: "webauthn", outcome: "ok" });
        return sessions.start(user, [...(ticket?.amr ?? []), "hwk"]);
      }),
  );

  // Sessions.
  app.post<{ Body: { refreshToken: string } }>(
    "/v1/token/refresh",
    {
      config: limited,
      schema: {
        summary: "Swap a refresh token for a new pair (a reused one revokes its family)",
        tags: ["tokens"],
        body: body({ refreshToken: str(128) }),
        response: tokens,
      },
    },
    async (req) => sessions.refresh(req.body.refreshToken),
  );
  app.post<{ Body: { refreshToken: string } }>(
    "/v1/sign-out",
    {
      schema: {
        summary: "End this session (its refresh-token family)",
        tags: ["tokens"],
        body: body({ refreshToken: str(128) }),
      },
    },
    async (req) => {
      await sessions.signOut(req.body.refreshToken);
      return { signedOut: true };
    },
  );
  app.post(
    "/v1/sign-out-everywhere",
    { schema: { summary: "Revoke every refresh token of the account", tags: ["tokens"], security: [{ bearer: [] }] } },
    async (req) => ({
      revoked: await sessions.signOutEverywhere((await me(req)).id),
    }),
  );
  app.post<{ Body: { message: string; signature: string } }>(
    "/v1/me/wallet",
    {
      config: limited,
      schema: {
        summary: "Link a wallet to the signed-in account by a SIWE message it signed",
        tags: ["account"],
        security: [{ bearer: [] }],
        body: body({ message: str(4096), signature: str(4098) }),
      },
    },
    async (req) => ({ wallet: await siwe.link(await me(req), req.body.message, req.body.signature) }),
  );
  app.post<{ Body: { email: string; password?: string } }>(
    "/v1/me/email",
    {
      config: limited,
      schema: {
        summary: "Link an email (and optionally a password) to the signed-in account; a verification link is mailed",
        tags: ["account"],
        security: [{ bearer: [] }],
        body: body({ email: str(254), password: str(1024) }, ["email"]),
      },
    },
    async (req, reply) => {
      await passwords.linkEmail((await me(req)).id, req.body.email, req.body.password);
      return reply.status(202).send({ verificationSent: true });
    },
  );
  app.get(
    "/v1/me",
    {
      schema: {
        summary: "The signed-in account",
        tags: ["account"],
        security: [{ bearer: [] }],
        response: {
          200: {
            type: "object",
            properties: {
              id: { type: "string" },
              email: { type: "string", nullable: true },
              emailVerified: { type: "boolean" },
              wallet: { type: "string", nullable: true },
              mfa: { type: "array", items: { type: "string" } },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const u = await me(req);
      return {
        id: u.id,
        email: u.email,
        emailVerified: u.emailVerified,
        wallet: u.wallet,
        mfa: await mfa.methodsOf(u),
      };
    },
  );
  if (cfg.oidc.enabled) {
    const cookieKeys = cfg.oidc.cookieKeys ?? [randomBytes(32).toString("base64url")];
    const provider = await createOIDCProvider(core, { clients: cfg.oidc.clients, cookieKeys, now: mods.now });
    await registerOIDC(app, core, provider);
  }
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  return app;
}

export interface AuthService {
  url: string;
  app: FastifyInstance;
  core: AuthCore;
  close(): Promise<void>;
}

export async function startAuthServer(core: AuthCore, mods: { log: Logger; version: string }): Promise<AuthService> {
  collectProcessMetrics(core.register, "azora_auth_process_");
  const app = await buildAuthApp(core, mods);
  await app.listen({ host: core.cfg.http.host, port: core.cfg.http.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : core.cfg.http.port;
  const host = core.cfg.http.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  mods.log.info("auth listening", { url, database: core.cfg.database.kind });
  return {
    url,
    app,
    core,
    async close() {
      await app.close();
      await core.close();
    },
  };
}
