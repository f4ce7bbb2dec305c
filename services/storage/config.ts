/**
 * Storage configuration: one TypeBox schema is the type, the defaults, the validation and the documentation
 * of every key (the README table is this schema). Precedence: defaults < config file (JSON) < flags.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { AzoraError } from "../../runtime/lib/errors.js";
import { configErrors, mergeConfig } from "../runtime/typedConfig.js";

const MiB = 1024 * 1024;

export const StorageConfigSchema = Type.Object(
  {
    dataDir: Type.String({
      default: "./data/storage",
      description: "blocks (blocks/), node state and pins (datastore/), unfinished uploads (uploads/)",
    }),
    backend: Type.Union([Type.Literal("helia"), Type.Literal("kubo")], {
      default: "helia",
      description: "helia: IPFS in-process; kubo: a Kubo daemon over its RPC API (kubo.url)",
    }),
    kubo: Type.Object(
      {
        url: Type.String({ default: "http://127.0.0.1:5001", description: "Kubo RPC API base URL" }),
      },
      { default: {}, additionalProperties: false },
    ),
    p2p: Type.Object(
      {
        listen: Type.Array(Type.String(), {
          default: ["/ip4/127.0.0.1/tcp/0"],
          description: "libp2p listen multiaddrs for bitswap (helia backend)",
        }),
        peers: Type.Array(Type.String(), {
          default: [],
          description: "peers to dial at start (multiaddrs ending in /p2p/<peer id>); no public bootstrap",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    http: Type.Object(
      {
        host: Type.String({ default: "127.0.0.1", description: "gateway listen address" }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: "gateway port (0 = any free)" }),
      },
      { default: {}, additionalProperties: false },
    ),
    gateway: Type.Object(
      {
        retrievalTimeoutMs: Type.Integer({
          minimum: 100,
          default: 30_000,
          description: "how long a request may wait for blocks from peers before 504",
        }),
        offline: Type.Boolean({ default: false, description: "serve local blocks only (never ask peers)" }),
      },
      { default: {}, additionalProperties: false },
    ),
    uploads: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: "accept uploads (POST /upload and tus at /uploads/)" }),
        maxBytes: Type.Integer({
          minimum: 1,
          default: 4096 * MiB,
          description: "largest upload accepted through tus (413 above)",
        }),
        plainMaxBytes: Type.Integer({
          minimum: 1,
          default: 32 * MiB,
          description: "largest plain POST /upload body (413 above; use tus for larger files)",
        }),
        authToken: Type.Optional(
          Type.String({ minLength: 16, description: "if set, uploads need `Authorization: Bearer <token>`" }),
        ),
        expiryMs: Type.Integer({
          minimum: 60_000,
          default: 24 * 3600_000,
          description: "unfinished tus uploads are removed after this long without progress",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          [
            Type.Literal("trace"),
            Type.Literal("debug"),
            Type.Literal("info"),
            Type.Literal("warn"),
            Type.Literal("error"),
            Type.Literal("fatal"),
            Type.Literal("silent"),
          ],
          { default: "info" },
        ),
        format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("pretty")])),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type StorageConfig = Static<typeof StorageConfigSchema>;

export enum StorageConfigErrorCode {
  UNREADABLE = "STORAGE_CONFIG_UNREADABLE",
  INVALID = "STORAGE_CONFIG_INVALID",
}

export class StorageConfigError extends AzoraError<
  | { code: StorageConfigErrorCode.UNREADABLE; file: string; reason: string }
  | { code: StorageConfigErrorCode.INVALID; errors: string[] }
> {}

/** Deep partial of the config: what a file or flags may give. */
export type StorageConfigInput = { [K in keyof StorageConfig]?: Partial<StorageConfig[K]> | StorageConfig[K] };

export function loadStorageConfigFile(file: string): { input: StorageConfigInput; baseDir: string } {
  try {
    return { input: JSON.parse(readFileSync(file, "utf8")) as StorageConfigInput, baseDir: dirname(resolve(file)) };
  } catch (e) {
    throw new StorageConfigError(
      { code: StorageConfigErrorCode.UNREADABLE, file, reason: (e as Error).message },
      `cannot read storage config ${file}: ${(e as Error).message}`,
    );
  }
}

/**
 * Merges file and flags over the defaults, validates, and resolves a relative dataDir against the config
 * file's directory (or the working directory without one).
 */
export function resolveStorageConfig(
  file: StorageConfigInput | undefined,
  flags: StorageConfigInput,
  baseDir = process.cwd(),
): StorageConfig {
  const withDefaults = mergeConfig(StorageConfigSchema, file, flags) as StorageConfig;
  const errors = configErrors(StorageConfigSchema, withDefaults);
  if (errors.length > 0) {
    throw new StorageConfigError(
      { code: StorageConfigErrorCode.INVALID, errors },
      `invalid storage config: ${errors.join("; ")}`,
    );
  }
  if (!isAbsolute(withDefaults.dataDir)) withDefaults.dataDir = resolve(baseDir, withDefaults.dataDir);
  return withDefaults;
}
