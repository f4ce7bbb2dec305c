/**
 * Push service configuration: one TypeBox schema is the type, the defaults, the validation and the README
 * table. Precedence: defaults < config file (JSON) < flags.
 */
import { isAbsolute, resolve } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { resolveTypedConfig } from "../runtime/typedConfig.js";

const KiB = 1024;

export const PushConfigSchema = Type.Object(
  {
    dataDir: Type.String({
      default: "./data/push",
      description: "the message log, acknowledgements and Web Push subscriptions (push.sqlite)",
    }),
    http: Type.Object(
      {
        host: Type.String({ default: "127.0.0.1", description: "listen address" }),
        port: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 8790,
          description: "HTTP + WebSocket port (0 = any free)",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    auth: Type.Object(
      {
        jwksUrl: Type.Optional(
          Type.String({ description: "Azora Auth's JWKS URL; access tokens are verified against it" }),
        ),
        jwksFile: Type.Optional(Type.String({ description: "a JWKS file instead of jwksUrl (offline)" })),
        issuer: Type.Optional(
          Type.String({ description: "Azora Auth's issuer URL: required `iss` of access tokens (required)" }),
        ),
        audience: Type.String({
          default: "azora",
          description: "required `aud` of access tokens (Azora Auth's `audience`)",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    publishTokens: Type.Array(Type.String({ minLength: 16 }), {
      default: [],
      description:
        "bearer tokens of publishers (the mail worker, a dApp backend) for POST /v1/publish; none = publishing over HTTP is off",
    }),
    limits: Type.Object(
      {
        maxMessageBytes: Type.Integer({
          minimum: 64,
          default: 64 * KiB,
          description: "largest payload (JSON) published (413 above)",
        }),
        maxChannelsPerConnection: Type.Integer({
          minimum: 1,
          default: 64,
          description: "channels one WebSocket may read",
        }),
        maxConnectionsPerIdentity: Type.Integer({
          minimum: 1,
          default: 16,
          description: "open WebSockets per `sub` (4429 above)",
        }),
        maxReplay: Type.Integer({
          minimum: 1,
          default: 1000,
          description: "messages replayed per subscribe (the client asks again for more)",
        }),
        maxBufferedBytes: Type.Integer({
          minimum: 1024,
          default: 4 * 1024 * KiB,
          description:
            "unsent bytes a connection may hold before it is closed as too slow (it resumes from its cursor)",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    retention: Type.Object(
      {
        perChannel: Type.Integer({ minimum: 1, default: 10_000, description: "messages kept per channel for replay" }),
        maxAgeMs: Type.Integer({
          minimum: 60_000,
          default: 30 * 24 * 3600_000,
          description: "messages older than this are dropped",
        }),
        pruneEveryMs: Type.Integer({ minimum: 1000, default: 3600_000, description: "how often retention runs" }),
      },
      { default: {}, additionalProperties: false },
    ),
    webPush: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description: "send Web Push to registered browsers when a personal message reaches no live connection",
        }),
        subject: Type.String({
          default: "mailto:operator@localhost",
          description: "VAPID subject (a mailto: or https: contact for push services)",
        }),
        ttlSec: Type.Integer({
          minimum: 0,
          default: 24 * 3600,
          description: "how long a push service keeps an undelivered notification",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    chain: Type.Object(
      {
        rpcUrl: Type.Optional(
          Type.String({ description: "a node's JSON-RPC URL; set it to turn chain events into notifications" }),
        ),
        wsUrl: Type.Optional(
          Type.String({ description: "its WebSocket URL for new heads (default: rpcUrl with ws://)" }),
        ),
        fromBlock: Type.Union([Type.Literal("latest"), Type.Integer({ minimum: 0 })], {
          default: "latest",
          description: "first block on a fresh data dir",
        }),
        rangeBlocks: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 500,
          description: "blocks per catch-up step",
        }),
        pollMs: Type.Integer({ minimum: 50, default: 2000, description: "head polling when the WebSocket is down" }),
      },
      { default: {}, additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ["trace", "debug", "info", "warn", "error", "fatal", "silent"].map((l) => Type.Literal(l)),
          { default: "info" },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type PushConfig = Static<typeof PushConfigSchema>;

export function resolvePushConfig(file: object | undefined, flags: object, baseDir = process.cwd()): PushConfig {
  const cfg = resolveTypedConfig(PushConfigSchema, file, flags);
  if (!isAbsolute(cfg.dataDir)) cfg.dataDir = resolve(baseDir, cfg.dataDir);
  return cfg;
}
