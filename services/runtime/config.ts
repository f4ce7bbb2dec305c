/**
 * Worker configuration: one TypeBox schema is the source of the type, the defaults, the validation and the
 * documentation of every key. Precedence: defaults < config file (`--config`, JSON) < command-line flags.
 */
import { readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { parseUnits, Wallet } from "ethers";
import { ConfigErrorCode, WorkerConfigError } from "./errors.js";
import { ConfigInvalidError, readConfigFile, resolveTypedConfig } from "./typedConfig.js";

const Decimal = (description: string, dflt: string) =>
  Type.String({ pattern: "^[0-9]+(\\.[0-9]{1,18})?$", description, default: dflt });

export const WorkerConfigSchema = Type.Object(
  {
    rpc: Type.String({ description: "JSON-RPC URL of an Azora node (http://…)", default: "http://127.0.0.1:8545" }),
    ws: Type.Optional(Type.String({ description: "WebSocket URL for new heads (default: the rpc URL with ws://)" })),
    keyFile: Type.Optional(
      Type.String({
        description: "file holding the worker's account key: 0x-hex private key, or an encrypted JSON keystore",
      }),
    ),
    devAccount: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 9, description: "devnet only: use dev account N's well-known key" }),
    ),
    passwordFile: Type.Optional(Type.String({ description: "password of a JSON keystore (else AZORA_KEY_PASSWORD)" })),
    dataDir: Type.String({ description: "journal (jobs.sqlite) and blob store (blobs/)" }),
    kinds: Type.Array(Type.String({ minLength: 1, maxLength: 31 }), { minItems: 1, description: "job kinds served" }),
    http: Type.Object(
      {
        host: Type.String({ default: "127.0.0.1", description: "HTTP API listen address" }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8700, description: "HTTP API port (0 = any free)" }),
        publicUrl: Type.Optional(
          Type.String({
            description: "URL others reach this worker at (registered on chain; default http://host:port)",
          }),
        ),
      },
      { default: {} },
    ),
    price: Type.Object(
      {
        AZR: Decimal("least price per slot accepted for AZR jobs, in AZR", "0"),
        LEARN: Decimal("least price per slot accepted for LEARN jobs, in LEARN", "0"),
      },
      { default: {} },
    ),
    maxJobs: Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 4,
      description: "jobs claimed and undelivered at once",
    }),
    maxBatch: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 32,
      description:
        "claims / submits sent as one claimMany / submitMany transaction while the previous one is unmined (1 = never batch)",
    }),
    minDeliverWindowSec: Type.Integer({
      minimum: 1,
      default: 5,
      description: "refuse jobs whose deliver window is shorter (the time the work needs plus margin)",
    }),
    stake: Type.Optional(
      Type.String({
        pattern: "^[0-9]+(\\.[0-9]{1,18})?$",
        description: "AZR to keep staked (registration, and top-up at start); default the market's minimum",
      }),
    ),
    verify: Type.Boolean({ default: true, description: "answer replay-verification duties" }),
    reclaim: Type.Boolean({
      default: true,
      description: "reclaim jobs of its kinds whose claimer missed its deadline, then try to take them",
    }),
    withdrawMin: Decimal("withdraw a token's payouts once at least this much is withdrawable", "0"),
    maxInputBytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024, description: "largest input fetched" }),
    fetchTimeoutMs: Type.Integer({ minimum: 100, default: 30_000, description: "timeout per input/result source" }),
    lookbackBlocks: Type.Integer({
      minimum: 0,
      default: 1000,
      description: "on a first start, scan this many blocks back for open jobs",
    }),
    maxRuns: Type.Integer({ minimum: 1, default: 3, description: "handler runs of one job before giving up" }),
    pollMs: Type.Integer({ minimum: 50, default: 2000, description: "head polling fallback when the socket is down" }),
    progressLogMs: Type.Integer({
      minimum: 100,
      default: 2000,
      description: "interval of progress lines for long jobs",
    }),
    refreshEveryHeads: Type.Integer({ minimum: 1, default: 10, description: "re-read waiting jobs every N blocks" }),
    tx: Type.Object(
      {
        feeBumpAfterMs: Type.Integer({ minimum: 500, default: 6000, description: "re-sign unmined txs after" }),
        feeBumpPercent: Type.Integer({ minimum: 10, maximum: 100, default: 15 }),
        maxFeeBumps: Type.Integer({ minimum: 0, maximum: 50, default: 8 }),
      },
      { default: {} },
    ),
    log: Type.Object(
      {
        level: Type.String({ enum: ["trace", "debug", "info", "warn", "error", "fatal", "silent"], default: "info" }),
        format: Type.Optional(Type.String({ enum: ["json", "pretty"] })),
      },
      { default: {} },
    ),
    storage: Type.Object(
      {
        enabled: Type.Optional(
          Type.Boolean({
            description:
              "IPFS content storage (Helia) under <dataDir>/ipfs: results are added to it too, the gateway " +
              "(/ipfs/<cid>) is on the HTTP port, peers fetch by CID over bitswap (default: on when a kind needs it)",
          }),
        ),
        listen: Type.Array(Type.String(), {
          default: ["/ip4/127.0.0.1/tcp/0"],
          description: "libp2p listen multiaddrs of the IPFS node",
        }),
        peers: Type.Array(Type.String(), { default: [], description: "peers to dial at start (…/p2p/<id>)" }),
        retrievalTimeoutMs: Type.Integer({
          minimum: 100,
          default: 30_000,
          description: "how long a gateway request may wait for blocks from peers",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    metered: Type.Object(
      {
        price: Type.Optional(
          Type.String({
            pattern: "^[0-9]+(\\.[0-9]{1,18})?$",
            description:
              "metered inference: AZR per request on POST /v1/infer/<model> (ai/onnx), paid by signed receipts " +
              "against a deposit in the market; unset = no metered route",
          }),
        ),
        prices: Type.Record(Type.String({ pattern: "^(0x)?[0-9a-fA-F]{64}$" }), Decimal("AZR per request", "0"), {
          default: {},
          description:
            "per-model prices (model id → AZR per request), over `price`; 0 serves that model free (no receipt)",
        }),
        voucherEvery: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 10,
          description: "receipts between voucher requests (3 × that unvouchered and requests are refused)",
        }),
        redeemEveryMs: Type.Integer({
          minimum: 1_000,
          default: 60_000,
          description: "how often vouchers are redeemed on chain (at most a quarter of the market's thaw period)",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Test-only: misbehave so slashing can be shown end to end. Never set in production. */
    fault: Type.Optional(Type.String({ enum: ["wrong-result", "no-deliver", "tamper-segment"] })),
  },
  { additionalProperties: false },
);

export type WorkerConfig = Static<typeof WorkerConfigSchema>;

/** The file's keys; paths in it (keyFile, passwordFile, dataDir) are relative to the file. */
export function loadConfigFile(file: string): Record<string, unknown> {
  const obj = asWorkerConfigError(() => readConfigFile(file));
  const dir = resolve(file, "..");
  for (const k of ["keyFile", "passwordFile", "dataDir"])
    if (typeof obj[k] === "string" && !isAbsolute(obj[k] as string)) obj[k] = join(dir, obj[k] as string);
  return obj;
}

/** Validates and completes a configuration (file merged with flags); throws WorkerConfigError naming the key. */
export function resolveWorkerConfig(
  file: Record<string, unknown> | undefined,
  flags: Record<string, unknown>,
): WorkerConfig {
  return asWorkerConfigError(() => resolveTypedConfig(WorkerConfigSchema, file, flags));
}

/** Config errors keep the worker's own type and code (WorkerConfigError, WORKER_CONFIG_INVALID). */
function asWorkerConfigError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConfigInvalidError)
      throw new WorkerConfigError({ code: ConfigErrorCode.INVALID, key: e.key, reason: e.reason });
    throw e;
  }
}

export function tokenUnits(decimal: string): bigint {
  return parseUnits(decimal, 18);
}

/** Reads the worker's key: a 0x-hex private key, or an encrypted JSON keystore (ethers / geth format). */
export async function loadWallet(keyFile: string, passwordFile?: string): Promise<Wallet> {
  let text: string;
  try {
    text = readFileSync(keyFile, "utf8").trim();
  } catch (e) {
    throw new WorkerConfigError({ code: ConfigErrorCode.KEY_FILE, file: keyFile, reason: (e as Error).message });
  }
  if ((statSync(keyFile).mode & 0o077) !== 0 && process.platform !== "win32")
    process.emitWarning(`${keyFile} is readable by other users; chmod 600 it`);
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(text)) return new Wallet(text.startsWith("0x") ? text : `0x${text}`);
  if (text.startsWith("{")) {
    const password =
      passwordFile !== undefined ? readFileSync(passwordFile, "utf8").trimEnd() : process.env.AZORA_KEY_PASSWORD;
    if (password === undefined)
      throw new WorkerConfigError({
        code: ConfigErrorCode.KEY_FILE,
        file: keyFile,
        reason: "a keystore needs --password-file or AZORA_KEY_PASSWORD",
      });
    try {
      const w = await Wallet.fromEncryptedJson(text, password);
      return new Wallet(w.privateKey);
    } catch (e) {
      throw new WorkerConfigError({ code: ConfigErrorCode.KEY_FILE, file: keyFile, reason: (e as Error).message });
    }
  }
  throw new WorkerConfigError({
    code: ConfigErrorCode.KEY_FILE,
    file: keyFile,
    reason: "neither a 0x-hex private key nor a JSON keystore",
  });
}

/** The WebSocket URL of a node's JSON-RPC (same port, ws scheme). */
export function wsURLOf(rpc: string): string {
  return rpc.replace(/^http(s?):\/\//, "ws$1://");
}
