/**
 * `azora storage …`: add files to the local IPFS repo (or a remote gateway), download by CID with every
 * block verified, and run the gateway. Only wiring lives here — flags to config, logger, output; the work is
 * in `services/storage/`.
 */
import { readdirSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { ImportEntry, StorageBackend, StorageConfig, StorageConfigInput } from "../services/storage/index.js";
import { printBanner } from "./banner.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "./logger.js";
import { stopOnSignals } from "./shutdown.js";

/** Loaded on use: Helia and libp2p take seconds to import, which every other `azora` command would pay. */
const lib = () => import("../services/storage/index.js");

import { VERSION } from "./version.js";

const collect = (v: string, prev: string[] = []) => [...prev, v];

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

interface CommonFlags {
  config?: string;
  dataDir?: string;
}

async function configFrom(flags: CommonFlags, over: StorageConfigInput = {}): Promise<StorageConfig> {
  const { loadStorageConfigFile, resolveStorageConfig } = await lib();
  const file = flags.config === undefined ? undefined : loadStorageConfigFile(flags.config);
  return resolveStorageConfig(file?.input, { dataDir: flags.dataDir, ...over }, file?.baseDir);
}

/** A Helia node on the local repo that listens nowhere: for one-shot commands beside a running `serve`. */
async function localBackend(cfg: StorageConfig, peers: readonly string[]): Promise<StorageBackend> {
  return (await lib()).createHeliaBackend({ dataDir: cfg.dataDir, listen: [], peers });
}

/** Files under `dir` as import entries, paths relative to it (the directory's CID is the tree's root). */
function* walk(dir: string, root = dir): Generator<ImportEntry> {
  const names = readdirSync(dir).sort();
  if (names.length === 0 && dir !== root) yield { path: relative(root, dir).split(sep).join("/") };
  for (const name of names) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yield* walk(p, root);
    else if (st.isFile()) yield { path: relative(root, p).split(sep).join("/"), content: fileChunks(p) };
  }
}

async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const fh = await open(path, "r");
  try {
    yield* fh.readableWebStream({ type: "bytes" }) as unknown as AsyncIterable<Uint8Array>;
  } finally {
    await fh.close();
  }
}

export function registerStorageCommands(program: Command): void {
  const storage = program
    .command("storage")
    .description("Content storage on IPFS: add, get (verified) and serve a gateway (see README, Content storage)");

  storage
    .command("add")
    .description("Add a file or directory; prints its CID (of the directory itself for a directory)")
    .argument("<path>", "file or directory")
    .option("-c, --config <file>", "storage config JSON (keys in README)")
    .option("--data-dir <dir>", "local repo (default ./data/storage)")
    .option("--api <url>", "upload to this gateway instead of the local repo (files only; tus above 8 MiB)")
    .option("--token <token>", "bearer token for --api uploads")
    .option("--wrap", "wrap a file in a directory that keeps its name (prints the directory's CID)")
    .action(async (path: string, f: CommonFlags & { api?: string; token?: string; wrap?: boolean }) => {
      const st = statSync(path);
      if (f.api !== undefined) {
        if (!st.isFile()) throw new InvalidArgumentError("--api uploads files only");
        const r = await (await lib()).uploadFile(path, { url: f.api, authToken: f.token, wrap: f.wrap });
        process.stdout.write(`${r.wrapper ?? r.cid}\n`);
        return;
      }
      const cfg = await configFrom(f);
      const backend = await localBackend(cfg, []);
      try {
        const name = resolve(path).split(sep).pop() as string;
        const cid = st.isDirectory()
          ? await backend.addTree(walk(path))
          : f.wrap
            ? await backend.addTree([{ path: name, content: fileChunks(path) }])
            : await backend.addFile(fileChunks(path));
        await backend.pin(cid);
        process.stdout.write(`${cid.toString()}\n`);
      } finally {
        await backend.stop();
      }
    });

  storage
    .command("get")
    .description("Download a CID, verifying every block against its hash as it arrives; a file or a directory tree")
    .argument("<cid>", "CID, optionally followed by /path inside it")
    .requiredOption("-o, --out <path>", "where to write (created only once everything verified)")
    .option("--gateway <url>", "fetch blocks from this trustless gateway (repeatable; tried in order)", collect)
    .option("--peer <multiaddr>", "fetch over bitswap from this peer (repeatable)", collect)
    .option("-c, --config <file>", "storage config JSON (keys in README)")
    .option("--data-dir <dir>", "local repo used without --gateway (default ./data/storage)")
    .option("--timeout <ms>", "per-block timeout", positiveInt("--timeout"), 30_000)
    .option("-q, --quiet", "no progress on stderr")
    .action(
      async (
        arg: string,
        f: CommonFlags & { out: string; gateway?: string[]; peer?: string[]; timeout: number; quiet?: boolean },
      ) => {
        const { parseCID, gatewaySource, backendSource, downloadVerified } = await lib();
        const [cidPart, ...rest] = arg
          .replace(/^\/?ipfs\//, "")
          .replace(/^ipfs:\/\//, "")
          .split("/");
        let cid = parseCID(cidPart);
        const progress = (p: { bytesWritten: number; totalBytes?: number; blocks: number }) => {
          if (f.quiet) return;
          const total = p.totalBytes === undefined ? "" : ` of ${p.totalBytes}`;
          process.stderr.write(`\r${p.bytesWritten}${total} bytes, ${p.blocks} blocks verified`);
        };
        let backend: StorageBackend | undefined;
        try {
          let source: ReturnType<typeof gatewaySource>;
          if (f.gateway !== undefined && f.gateway.length > 0) {
            source = gatewaySource(f.gateway, f.timeout);
          } else {
            backend = await localBackend(await configFrom(f), f.peer ?? []);
            source = backendSource(backend, f.timeout);
          }
          if (rest.filter(Boolean).length > 0) {
            if (backend === undefined)
              throw new InvalidArgumentError("a /path after the CID needs the local repo or --peer");
            cid = (await backend.stat(cid, rest.filter(Boolean))).cid;
          }
          const r = await downloadVerified(cid, f.out, source, { onProgress: progress });
          if (!f.quiet) process.stderr.write("\n");
          process.stdout.write(
            `${resolve(f.out)}: ${r.type}, ${r.bytes} bytes${r.type === "directory" ? ` in ${r.files} files` : ""}, ${r.blocks} blocks verified against ${cid.toString()}\n`,
          );
        } finally {
          await backend?.stop();
        }
      },
    );

  storage
    .command("serve")
    .description("Run the IPFS gateway and upload API (HTTP), with the node's blocks exchanged over bitswap")
    .option("-c, --config <file>", "storage config JSON (keys in README; flags override it)")
    .option("--data-dir <dir>", "repo: blocks, datastore, unfinished uploads (default ./data/storage)")
    .option("--host <host>", "HTTP listen address (default 127.0.0.1)")
    .option("--port <port>", "HTTP port (default 8080; 0 = any free)", positiveInt("--port"))
    .option(
      "--p2p-listen <multiaddr>",
      "libp2p listen address for bitswap (repeatable; default /ip4/127.0.0.1/tcp/0)",
      collect,
    )
    .option("--peer <multiaddr>", "peer to dial at start, ending in /p2p/<id> (repeatable)", collect)
    .addOption(new Option("--backend <kind>", "helia (in-process) or kubo (a Kubo daemon)").choices(["helia", "kubo"]))
    .option("--kubo-url <url>", "Kubo RPC API URL (with --backend kubo)")
    .option("--offline", "serve local blocks only; never ask peers")
    .option("--no-uploads", "refuse uploads (read-only gateway)")
    .option("--max-upload-bytes <n>", "largest tus upload (413 above)", positiveInt("--max-upload-bytes"))
    .option(
      "--plain-max-upload-bytes <n>",
      "largest plain POST /upload (413 above)",
      positiveInt("--plain-max-upload-bytes"),
    )
    .addOption(new Option("--log-level <level>", "log level (default info)").choices(LOG_LEVELS))
    .addOption(
      new Option("--log-format <format>", "log format (default: pretty on a terminal, else JSON)").choices([
        "json",
        "pretty",
      ]),
    )
    .action(
      async (
        f: CommonFlags & {
          host?: string;
          port?: number;
          p2pListen?: string[];
          peer?: string[];
          backend?: "helia" | "kubo";
          kuboUrl?: string;
          offline?: boolean;
          uploads: boolean;
          maxUploadBytes?: number;
          plainMaxUploadBytes?: number;
          logLevel?: LogLevel;
          logFormat?: "json" | "pretty";
        },
      ) => {
        const cfg = await configFrom(f, {
          backend: f.backend,
          kubo: { url: f.kuboUrl },
          http: { host: f.host, port: f.port },
          p2p: { listen: f.p2pListen, peers: f.peer },
          gateway: { offline: f.offline },
          uploads: {
            enabled: f.uploads === false ? false : undefined,
            maxBytes: f.maxUploadBytes,
            plainMaxBytes: f.plainMaxUploadBytes,
          },
          log: { level: f.logLevel, format: f.logFormat },
        });
        const { logger, flush } = createLogger(cfg.log);
        const svc = await (await lib()).startStorageService(cfg, {
          log: logger.child({ module: "storage" }),
          version: VERSION,
        });
        printBanner(`Azora storage v${VERSION} — ${svc.backend.kind} backend`, [
          ["Gateway", `${svc.url}/ipfs/<cid>`],
          [
            "Uploads",
            cfg.uploads.enabled
              ? `POST ${svc.url}/upload (≤ ${cfg.uploads.plainMaxBytes} B), tus ${svc.url}/uploads/ (≤ ${cfg.uploads.maxBytes} B)`
              : "disabled",
          ],
          ["API", `${svc.url}/openapi.json   Health ${svc.url}/health   Metrics ${svc.url}/metrics`],
          ["Data dir", cfg.dataDir],
          ["P2P", svc.backend.addresses().join(" ") || "(not listening)"],
        ]);
        stopOnSignals({ close: () => svc.close(), logger, flush });
      },
    );
}
