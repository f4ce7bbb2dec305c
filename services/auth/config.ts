/**
 * Azora Auth configuration: one TypeBox schema is the type, the defaults, the validation and the documentation of
 * every key (the README table follows it). Precedence: defaults < config file (JSON) < flags.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { AzoraError } from "../../runtime/lib/errors.js";
import { configErrors, mergeConfig } from "../runtime/typedConfig.js";

const obj = <T extends Parameters<typeof Type.Object>[0]>(props: T) =>
  Type.Object(props, { default: {}, additionalProperties: false });

export const AuthConfigSchema = Type.Object(
  {
    dataDir: Type.String({ default: "./data/auth", description: "SQLite database (auth.sqlite) lives here" }),
    issuer: Type.String({
      default: "http://127.0.0.1:8090",
      description: "public base URL; the `iss` of every token and the base of links in mails",
    }),
    database: obj({
      kind: Type.Union([Type.Literal("sqlite"), Type.Literal("postgres")], { default: "sqlite" }),
      url: Type.Optional(Type.String({ description: "postgres://… (with kind postgres)" })),
    }),
    http: obj({
      host: Type.String({ default: "127.0.0.1" }),
      port: Type.Integer({ minimum: 0, maximum: 65535, default: 8090, description: "0 = any free port" }),
    }),
    tokens: obj({
      accessTtlSec: Type.Integer({ minimum: 30, default: 900, description: "access JWT lifetime" }),
      refreshTtlSec: Type.Integer({ minimum: 60, default: 30 * 86400, description: "refresh token lifetime" }),
      keyRotationSec: Type.Integer({
        minimum: 60,
        default: 86400,
        description: "a new EdDSA signing key after this long; the old one stays in the JWKS until its tokens expire",
      }),
      audience: Type.String({ default: "azora", description: "`aud` of access tokens" }),
    }),
    siwe: obj({
      domain: Type.String({ default: "127.0.0.1:8090", description: "the only domain (host[:port]) accepted" }),
      chainId: Type.Integer({ minimum: 1, default: 16730, description: "the only chain id accepted" }),
      rpcUrl: Type.Optional(
        Type.String({ description: "chain JSON-RPC for ERC-1271 contract wallets (EOA only without it)" }),
      ),
      nonceTtlSec: Type.Integer({ minimum: 10, default: 600 }),
    }),
    password: obj({
      memoryCostKiB: Type.Integer({ minimum: 1024, default: 19456, description: "argon2id m (OWASP: 19 MiB)" }),
      timeCost: Type.Integer({ minimum: 1, default: 2, description: "argon2id t" }),
      parallelism: Type.Integer({ minimum: 1, default: 1, description: "argon2id p" }),
      minLength: Type.Integer({ minimum: 8, default: 10 }),
      maxFailures: Type.Integer({ minimum: 1, default: 5, description: "wrong passwords in a row before a lockout" }),
      lockoutSec: Type.Integer({ minimum: 1, default: 900 }),
      requireVerifiedEmail: Type.Boolean({ default: true }),
      mailTokenTtlSec: Type.Integer({ minimum: 60, default: 86400, description: "verification and reset links" }),
    }),
    rateLimit: obj({
      max: Type.Integer({ minimum: 1, default: 20, description: "sign-in requests per window per client IP" }),
      windowSec: Type.Integer({ minimum: 1, default: 60 }),
    }),
    mail: obj({
      serviceUrl: Type.Optional(
        Type.String({ description: "Azora Mail's HTTP URL: mails go through its POST /v1/deliver (preferred)" }),
      ),
      serviceToken: Type.Optional(
        Type.String({ minLength: 16, description: "a deliver token of that service (or AZORA_MAIL_SERVICE_TOKEN)" }),
      ),
      smtpHost: Type.Optional(
        Type.String({ description: "unauthenticated SMTP relay, if no serviceUrl; mails are logged without either" }),
      ),
      smtpPort: Type.Integer({ minimum: 1, maximum: 65535, default: 25 }),
      from: Type.String({ default: "Azora Auth <auth@localhost>" }),
    }),
    webauthn: obj({
      rpId: Type.String({ default: "localhost", description: "WebAuthn relying-party id (a registrable domain)" }),
      rpName: Type.String({ default: "Azora" }),
      origin: Type.String({ default: "http://localhost:8090", description: "expected origin of ceremonies" }),
    }),
    oidc: obj({
      enabled: Type.Boolean({ default: true, description: "mount the OpenID Connect provider at <issuer>/oidc" }),
      clients: Type.Array(
        Type.Object(
          {
            client_id: Type.String({ minLength: 1 }),
            client_secret: Type.Optional(Type.String({ minLength: 16, description: "confidential clients only" })),
            redirect_uris: Type.Array(Type.String(), { minItems: 1 }),
            token_endpoint_auth_method: Type.Optional(
              Type.Union([
                Type.Literal("none"),
                Type.Literal("client_secret_basic"),
                Type.Literal("client_secret_post"),
              ]),
            ),
          },
          { additionalProperties: false },
        ),
        { default: [], description: "registered relying parties (PKCE is required of all)" },
      ),
      cookieKeys: Type.Optional(
        Type.Array(Type.String({ minLength: 32 }), {
          minItems: 1,
          description: "keys signing the provider's cookies; random per start without (interactions in flight break)",
        }),
      ),
    }),
    log: obj({
      level: Type.Union(
        ["trace", "debug", "info", "warn", "error", "fatal", "silent"].map((l) => Type.Literal(l)),
        { default: "info" },
      ),
      format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("pretty")])),
    }),
  },
  { additionalProperties: false },
);

export type AuthConfig = Static<typeof AuthConfigSchema> & {
  log: { level: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent" };
};

export enum AuthConfigErrorCode {
  UNREADABLE = "AUTH_CONFIG_UNREADABLE",
  INVALID = "AUTH_CONFIG_INVALID",
}

export class AuthConfigError extends AzoraError<
  | { code: AuthConfigErrorCode.UNREADABLE; file: string; reason: string }
  | { code: AuthConfigErrorCode.INVALID; errors: string[] }
> {}

/** Deep partial of the config: what a file or flags may give. */
export type AuthConfigInput = { [K in keyof AuthConfig]?: Partial<AuthConfig[K]> | AuthConfig[K] };

export function loadAuthConfigFile(file: string): { input: AuthConfigInput; baseDir: string } {
  try {
    return { input: JSON.parse(readFileSync(file, "utf8")) as AuthConfigInput, baseDir: dirname(resolve(file)) };
  } catch (e) {
    throw new AuthConfigError(
      { code: AuthConfigErrorCode.UNREADABLE, file, reason: (e as Error).message },
      `cannot read auth config ${file}: ${(e as Error).message}`,
    );
  }
}

export function resolveAuthConfig(
  file: AuthConfigInput | undefined,
  flags: AuthConfigInput,
  baseDir = process.cwd(),
): AuthConfig {
  const cfg = mergeConfig(AuthConfigSchema, file, flags) as AuthConfig;
  const errors = configErrors(AuthConfigSchema, cfg);
  if (cfg.database?.kind === "postgres" && cfg.database.url === undefined)
    errors.push("/database/url: required with kind postgres");
  if (errors.length > 0)
    throw new AuthConfigError(
      { code: AuthConfigErrorCode.INVALID, errors },
      `invalid auth config: ${errors.join("; ")}`,
    );
  if (!isAbsolute(cfg.dataDir)) cfg.dataDir = resolve(baseDir, cfg.dataDir);
  return cfg;
}
