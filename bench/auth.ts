// `npm run bench:auth [-- --seconds S --concurrency C --memory-kib M --time-cost T]`: sign-in requests/s of Azora
// Auth over HTTP on loopback (SQLite store), with the argon2id cost stated — password sign-ins are bound by it by
// design. Also measures SIWE sign-ins (nonce + verify, ecrecover) and refresh-token rotations for comparison.
import { rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Wallet } from "ethers";
import { SiweMessage } from "siwe";
import { nullLogger } from "../runtime/lib/logger.js";
import { createAuthCore, RecordingMailer, resolveAuthConfig, startAuthServer } from "../services/auth/index.js";

const HELP = `Usage: npm run bench:auth -- [--seconds S] [--concurrency C] [--memory-kib M] [--time-cost T]
  --seconds S      per measurement (default 10)
  --concurrency C  requests in flight (default 8)
  --memory-kib M   argon2id memory cost (default 19456, the server default)
  --time-cost T    argon2id time cost (default 2, the server default)`;

const { values } = parseArgs({
  options: {
    seconds: { type: "string" },
    concurrency: { type: "string" },
    "memory-kib": { type: "string" },
    "time-cost": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const seconds = Number(values.seconds ?? 10);
const concurrency = Number(values.concurrency ?? 8);
const memoryCostKiB = Number(values["memory-kib"] ?? 19456);
const timeCost = Number(values["time-cost"] ?? 2);

const dataDir = join(tmpdir(), `azora-bench-auth-${process.pid}`);
const cfg = resolveAuthConfig(undefined, {
  dataDir,
  http: { port: 0 },
  password: { memoryCostKiB, timeCost, parallelism: 1, maxFailures: 1_000_000 },
  rateLimit: { max: 1_000_000_000 },
  siwe: { domain: "bench.azora.test", chainId: 16730 },
});
const core = await createAuthCore(cfg, { mailer: new RecordingMailer(), contractCheck: null });
const svc = await startAuthServer(core, { log: nullLogger, version: "bench" });

const post = async (path: string, body: unknown) => {
  const r = await fetch(`${svc.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const j = (await r.json()) as Record<string, string>;
  if (r.status !== 200 && r.status !== 201) throw new Error(`${path}: ${r.status} ${JSON.stringify(j)}`);
  return j;
};

async function measure(name: string, op: (worker: number, i: number) => Promise<void>) {
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const s = performance.now();
        await op(w, i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
  console.log(
    `${name.padEnd(28)} ${(lat.length / wall).toFixed(1).padStart(8)} req/s   p50 ${q(0.5)} ms   p99 ${q(0.99)} ms   (${lat.length} requests)`,
  );
}

const users = Array.from({ length: concurrency }, (_, i) => `bench${i}@example.org`);
for (const email of users) {
  const { userId } = await post("/v1/accounts", { email, password: "bench password 1" });
  await core.repo.setEmailVerified(userId);
}
const wallets = Array.from({ length: concurrency }, () => Wallet.createRandom());

console.log(
  `Azora Auth sign-in bench — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`,
);
console.log(
  `argon2id m=${memoryCostKiB} KiB, t=${timeCost}, p=1; SQLite; ${concurrency} in flight; ${seconds} s each\n`,
);
{
  const t = performance.now();
  for (let i = 0; i < 10; i++) await core.passwords.hashPassword(`password ${i}`);
  console.log(
    `${"argon2id hash, one at a time".padEnd(28)} ${((performance.now() - t) / 10).toFixed(1).padStart(8)} ms each`,
  );
}
await measure("password sign-in", async (w) => {
  await post("/v1/password/sign-in", { email: users[w], password: "bench password 1" });
});
await measure("SIWE sign-in (nonce+verify)", async (w) => {
  const { nonce } = await post("/v1/siwe/nonce", {});
  const message = new SiweMessage({
    domain: "bench.azora.test",
    address: wallets[w].address,
    uri: "https://bench.azora.test",
    version: "1",
    chainId: 16730,
    nonce,
    issuedAt: new Date().toISOString(),
  }).prepareMessage();
  await post("/v1/siwe/verify", { message, signature: await wallets[w].signMessage(message) });
});
const refresh = await Promise.all(
  users.map(
    async (email) => (await post("/v1/password/sign-in", { email, password: "bench password 1" })).refreshToken,
  ),
);
await measure("refresh-token rotation", async (w) => {
  refresh[w] = (await post("/v1/token/refresh", { refreshToken: refresh[w] })).refreshToken;
});
await svc.close();
rmSync(dataDir, { recursive: true, force: true });
