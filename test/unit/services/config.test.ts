import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encryptKeystoreJsonSync } from "ethers";
import { describe, expect, it } from "vitest";
import { loadConfigFile, loadWallet, resolveWorkerConfig } from "../../../services/runtime/config.js";
import { ConfigErrorCode } from "../../../services/runtime/errors.js";
import { DEV_KEYS, tempDir } from "../../utils/devnode.js";

describe("worker config", () => {
  it("fills defaults; flags override the file; file paths are relative to the file", () => {
    const dir = tempDir("wcfg");
    const file = join(dir, "worker.json");
    writeFileSync(
      file,
      JSON.stringify({ kinds: ["test/sha256"], keyFile: "k", dataDir: "d", maxJobs: 2, price: { AZR: "1" } }),
    );
    const cfg = resolveWorkerConfig(loadConfigFile(file), { maxJobs: 8, price: { LEARN: "2.5" } });
    expect(cfg).toMatchObject({
      kinds: ["test/sha256"],
      keyFile: join(dir, "k"),
      dataDir: join(dir, "d"),
      maxJobs: 8,
      price: { AZR: "1", LEARN: "2.5" },
      rpc: "http://127.0.0.1:8545",
      http: { host: "127.0.0.1", port: 8700 },
      verify: true,
      reclaim: true,
      tx: { feeBumpAfterMs: 6000, feeBumpPercent: 15, maxFeeBumps: 8 },
    });
  });

  it("names the offending key", () => {
    const base = { kinds: ["k"], dataDir: "d" };
    for (const [over, key] of [
      [{ maxJobs: 0 }, "maxJobs"],
      [{ price: { AZR: "1e18" } }, "price.AZR"],
      [{ unknownKey: 1 }, "unknownKey"],
      [{ kinds: [] }, "kinds"],
    ] as const) {
      try {
        resolveWorkerConfig({ ...base, ...over }, {});
        expect.unreachable(`${JSON.stringify(over)} accepted`);
      } catch (e) {
        expect((e as { type: { code: string; key: string } }).type).toMatchObject({
          code: ConfigErrorCode.INVALID,
          key,
        });
      }
    }
  });

  it("loads a hex key file and an encrypted keystore", async () => {
    const dir = tempDir("keys");
    writeFileSync(join(dir, "hex"), `${DEV_KEYS[1]}\n`, { mode: 0o600 });
    const w = await loadWallet(join(dir, "hex"));
    expect(w.address).toBe("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    const json = encryptKeystoreJsonSync({ address: w.address, privateKey: w.privateKey }, "pw", {
      scrypt: { N: 1024 },
    });
    writeFileSync(join(dir, "ks.json"), json, { mode: 0o600 });
    writeFileSync(join(dir, "pw"), "pw\n", { mode: 0o600 });
    expect((await loadWallet(join(dir, "ks.json"), join(dir, "pw"))).address).toBe(w.address);
    writeFileSync(join(dir, "bad"), "nope", { mode: 0o600 });
    await expect(loadWallet(join(dir, "bad"))).rejects.toMatchObject({ type: { code: ConfigErrorCode.KEY_FILE } });
  });
});
