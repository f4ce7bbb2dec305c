/**
 * Azora Auth as operators run it: the built `azora auth serve` process on loopback, sending its verification and
 * reset mails through a real SMTP server (`smtp-server`, in this test) and checking contract-wallet signatures
 * (ERC-1271) against a real dev node where the test deployed a wallet contract.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { ContractFactory, JsonRpcProvider, Wallet } from "ethers";
import { SiweMessage } from "siwe";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignerWalletAbi, SignerWalletBytecode } from "../../contracts/artifacts/SignerWallet.js";
import { createAccessTokenVerifier } from "../../services/auth/index.js";
import { CLI, DEV_KEYS, REPO_ROOT, runCLI, startInProcessNode, tempDir } from "../utils/devnode.js";
import { eventually } from "../utils/workers.js";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely; the assertions check them
type Body = Record<string, any>;

interface Received {
  to: string[];
  data: string;
}

let node: Awaited<ReturnType<typeof startInProcessNode>>;
let smtp: SMTPServer;
let smtpPort: number;
const inbox: Received[] = [];
let auth: ChildProcess;
let authOut = "";
let url: string;
const dataDir = tempDir("auth-e2e");

async function call(path: string, body: unknown, token?: string) {
  const r = await fetch(`${url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Body };
}

function linkIn(mail: Received): string {
  const text = mail.data.replace(/=\r?\n/g, "").replace(/=3D/g, "=");
  const m = /(http:\/\/\S+\?token=[A-Za-z0-9_-]+)/.exec(text);
  if (m === null) throw new Error(`no link in mail:\n${mail.data}`);
  return m[1];
}

beforeAll(async () => {
  node = await startInProcessNode();
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, cb) {
      let data = "";
      stream.on("data", (d: Buffer) => {
        data += d.toString();
      });
      stream.on("end", () => {
        inbox.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
        cb();
      });
    },
  });
  await new Promise<void>((res) => smtp.listen(0, "127.0.0.1", () => res()));
  smtpPort = (smtp.server.address() as { port: number }).port;
  auth = spawn(
    process.execPath,
    [
      CLI,
      "auth",
      "serve",
      "--data-dir",
      dataDir,
      "--port",
      "0",
      "--issuer",
      "http://127.0.0.1:8090",
      "--siwe-domain",
      "app.azora.test",
      "--chain-id",
      "16730",
      "--rpc-url",
      node.url,
      "--smtp-host",
      "127.0.0.1",
      "--smtp-port",
      String(smtpPort),
      "--argon2-memory-kib",
      "4096",
      "--argon2-time",
      "1",
      "--log-format",
      "json",
    ],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  auth.stdout?.on("data", (d) => {
    authOut += d.toString();
  });
  auth.stderr?.on("data", (d) => {
    authOut += d.toString();
  });
  url = await eventually(
    async () => /API\s+(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(authOut)?.[1],
    "azora auth serve to print its URL",
    60_000,
  );
}, 120_000);

afterAll(async () => {
  if (auth !== undefined && auth.exitCode === null) {
    const exited = new Promise((r) => auth.once("exit", r));
    auth.kill("SIGTERM");
    await exited;
  }
  await new Promise<void>((res) => smtp?.close(() => res()));
  await node?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("azora auth serve", () => {
  it("prints its flags with --help", async () => {
    const r = await runCLI(["auth", "serve", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--config",
      "--postgres",
      "--rpc-url",
      "--mail-service",
      "--mail-service-token",
      "--smtp-host",
      "--argon2-memory-kib",
      "--max-failures",
    ])
      expect(r.output).toContain(flag);
  });

  it("registers by password with the verification mail delivered over SMTP, resets by mail, signs in", async () => {
    const reg = await call("/v1/accounts", { email: "ada@example.org", password: "correct horse battery" });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    const verifyMail = await eventually(
      async () => inbox.find((m) => m.data.includes("X-Azora-Auth: verify-email")),
      "verification mail",
    );
    expect(verifyMail.to).toEqual(["ada@example.org"]);
    const token = new URL(linkIn(verifyMail)).searchParams.get("token");
    expect((await call("/v1/email/verify", { token })).status).toBe(200);

    expect((await call("/v1/password/reset-request", { email: "ada@example.org" })).status).toBe(202);
    const resetMail = await eventually(
      async () => inbox.find((m) => m.data.includes("X-Azora-Auth: reset-password")),
      "reset mail",
    );
    const resetToken = new URL(linkIn(resetMail)).searchParams.get("token");
    expect((await call("/v1/password/reset", { token: resetToken, password: "a brand new password" })).status).toBe(
      200,
    );
    const s = await call("/v1/password/sign-in", { email: "ada@example.org", password: "a brand new password" });
    expect(s.status, JSON.stringify(s.body)).toBe(200);

    // Another service verifies the token against the published JWKS, as Push and Mail do.
    const verify = createAccessTokenVerifier({
      issuer: "http://127.0.0.1:8090",
      audience: "azora",
      jwks: new URL(`${url}/.well-known/jwks.json`),
    });
    expect((await verify(s.body.accessToken)).email).toBe("ada@example.org");
  });

  it("signs in a contract wallet through ERC-1271 on the chain, and refuses a signature its owner did not make", async () => {
    const provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1, batchMaxCount: 1 });
    const deployer = new Wallet(DEV_KEYS[3], provider);
    const owner = Wallet.createRandom();
    const wallet = await new ContractFactory(SignerWalletAbi, SignerWalletBytecode, deployer).deploy(owner.address);
    await wallet.waitForDeployment();
    const address = await wallet.getAddress();

    const message = async () => {
      const { nonce } = (await call("/v1/siwe/nonce", {})).body;
      const now = Date.now();
      return new SiweMessage({
        domain: "app.azora.test",
        address,
        uri: "https://app.azora.test/login",
        version: "1",
        chainId: 16730,
        nonce,
        issuedAt: new Date(now).toISOString(),
        expirationTime: new Date(now + 600_000).toISOString(),
      }).prepareMessage();
    };
    const m1 = await message();
    const ok = await call("/v1/siwe/verify", { message: m1, signature: await owner.signMessage(m1) });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${ok.body.accessToken}` } });
    expect(((await me.json()) as { wallet: string }).wallet).toBe(address);

    const m2 = await message();
    const bad = await call("/v1/siwe/verify", { message: m2, signature: await Wallet.createRandom().signMessage(m2) });
    expect(bad).toMatchObject({ status: 401, body: { error: "AUTH_SIWE_BAD_SIGNATURE" } });
    provider.destroy();
  });

  it("exposes Prometheus metrics and the OpenAPI document", async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('azora_auth_sign_ins_total{method="password",outcome="ok"} 1');
    expect(metrics).toContain('azora_auth_mails_total{kind="verify-email",outcome="sent"} 1');
    const api = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(api.paths)).toEqual(
      expect.arrayContaining(["/v1/siwe/verify", "/v1/token/refresh", "/.well-known/jwks.json"]),
    );
  });
});
