/**
 * `azora push …`: run the push service, and publish to it. Only wiring lives here — flags to config,
 * logger, output, signals; the work is in `services/push/`.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { readConfigFile } from "../services/runtime/typedConfig.js";
import { printBanner } from "./banner.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "./logger.js";
import { stopOnSignals } from "./shutdown.js";
import { VERSION } from "./version.js";

const lib = () => import("../services/push/index.js");
const collect = (v: string, prev: string[] = []) => [...prev, v];

function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

interface ServeFlags {
  config?: string;
  dataDir?: string;
  host?: string;
  port?: number;
  jwksUrl?: string;
  jwksFile?: string;
  issuer?: string;
  audience?: string;
  publishToken?: string[];
  rpc?: string;
  fromBlock?: string;
  webPush: boolean;
  vapidSubject?: string;
  logLevel?: LogLevel;
  logFormat?: "json" | "pretty";
}

export function registerPushCommands(program: Command): void {
  const push = program
    .command("push")
    .description("Azora Push: notifications over WebSocket and Web Push (see README, Azora Push)");

  push
    .command("serve")
    .description(
      "Run the push service: WebSocket delivery with replay, publishing, Web Push, chain events as notifications",
    )
    .option("-c, --config <file>", "push config JSON (keys in README; flags override it)")
    .option("--data-dir <dir>", "message log and subscriptions (default ./data/push)")
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .option("--port <port>", "HTTP + WebSocket port (default 8790; 0 = any free)", nonNegativeInt("--port"))
    .option("--jwks-url <url>", "Azora Auth's JWKS URL (access tokens are checked against it)")
    .option("--jwks-file <file>", "a JWKS file instead of --jwks-url")
    .option("--issuer <iss>", "Azora Auth's issuer URL (required `iss` of access tokens; required)")
    .option("--audience <aud>", "required `aud` of access tokens (default azora, as Azora Auth issues them)")
    .option("--publish-token <token>", "bearer token allowed to POST /v1/publish (repeatable; ≥ 16 chars)", collect)
    .option("--rpc <url>", "a node's JSON-RPC URL: turn its chain events into notifications")
    .option("--from-block <n|latest>", "first block to read on a fresh data dir (default latest)")
    .option("--no-web-push", "do not send Web Push to closed browsers")
    .option("--vapid-subject <uri>", "VAPID contact (mailto: or https:)")
    .addOption(new Option("--log-level <level>", "log level (default info)").choices(LOG_LEVELS))
    .addOption(
      new Option("--log-format <format>", "log format (default: pretty on a terminal, else JSON)").choices([
        "json",
        "pretty",
      ]),
    )
    .action(async (f: ServeFlags) => {
      const { resolvePushConfig, startPushService } = await lib();
      const fromBlock =
        f.fromBlock === undefined || f.fromBlock === "latest"
          ? f.fromBlock
          : nonNegativeInt("--from-block")(f.fromBlock);
      const cfg = resolvePushConfig(f.config === undefined ? undefined : readConfigFile(f.config), {
        dataDir: f.dataDir,
        http: { host: f.host, port: f.port },
        auth: { jwksUrl: f.jwksUrl, jwksFile: f.jwksFile, issuer: f.issuer, audience: f.audience },
        publishTokens: f.publishToken,
        chain: { rpcUrl: f.rpc, fromBlock },
        webPush: { enabled: f.webPush === false ? false : undefined, subject: f.vapidSubject },
        log: { level: f.logLevel },
      });
      const { logger, flush } = createLogger({ level: cfg.log.level as LogLevel, format: f.logFormat });
      const svc = await startPushService(cfg, { log: logger.child({ module: "push" }), version: VERSION });
      printBanner(`Azora Push v${VERSION}`, [
        ["WebSocket", `${svc.url.replace(/^http/, "ws")}/v1/ws   (Authorization: Bearer <Azora Auth access token>)`],
        [
          "Publish",
          `POST ${svc.url}/v1/publish   ${cfg.publishTokens.length === 0 ? "(off: no --publish-token)" : ""}`,
        ],
        ["Web Push", svc.webPush === null ? "disabled" : `VAPID key ${svc.webPush.publicKey}`],
        ["Chain", cfg.chain.rpcUrl ?? "(not followed: no --rpc)"],
        ["API", `${svc.url}/openapi.json   Health ${svc.url}/health   Metrics ${svc.url}/metrics`],
        ["Data dir", cfg.dataDir],
      ]);
      stopOnSignals({ close: () => svc.close(), logger, flush });
    });

  push
    .command("publish")
    .description("Publish a JSON message to a channel of a running push service")
    .argument("<channel>", "user:<sub>, wallet:0x<address> or topic:<name>")
    .argument("<json>", "the payload, as JSON")
    .requiredOption("--url <url>", "the push service (e.g. http://127.0.0.1:8790)")
    .requiredOption("--token <token>", "a publish token of that service")
    .option("--dedupe-key <key>", "publish at most once under this key")
    .action(async (channel: string, json: string, f: { url: string; token: string; dedupeKey?: string }) => {
      let data: unknown;
      try {
        data = JSON.parse(json);
      } catch {
        throw new InvalidArgumentError("<json> must be valid JSON");
      }
      const res = await fetch(`${f.url.replace(/\/$/, "")}/v1/publish`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${f.token}` },
        body: JSON.stringify({ channel, data, dedupeKey: f.dedupeKey }),
      });
      const body = await res.text();
      if (!res.ok) {
        process.stderr.write(`azora push publish: HTTP ${res.status}: ${body}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${body}\n`);
    });
}
