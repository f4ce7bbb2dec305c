import { isAbsolute } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveAuthConfig } from "../../../../services/auth/index.js";

describe("auth config", () => {
  it("fills every default and resolves dataDir against the config file's directory", () => {
    const cfg = resolveAuthConfig(undefined, {}, "/srv/azora");
    expect(cfg.dataDir).toBe("/srv/azora/data/auth");
    expect(isAbsolute(cfg.dataDir)).toBe(true);
    expect(cfg).toMatchObject({
      database: { kind: "sqlite" },
      http: { host: "127.0.0.1", port: 8090 },
      tokens: { accessTtlSec: 900, refreshTtlSec: 2_592_000, keyRotationSec: 86_400, audience: "azora" },
      password: { memoryCostKiB: 19_456, timeCost: 2, maxFailures: 5, lockoutSec: 900 },
      rateLimit: { max: 20, windowSec: 60 },
      oidc: { enabled: true, clients: [] },
    });
  });

  it("flags override the file; unset flags leave it alone", () => {
    const cfg = resolveAuthConfig({ http: { port: 9000, host: "0.0.0.0" } }, { http: { port: 9100, host: undefined } });
    expect(cfg.http).toEqual({ port: 9100, host: "0.0.0.0" });
  });

  it("AUTH_CONFIG_INVALID names each bad key: postgres without a URL, an unknown key, a too-weak argon2 cost", () => {
    expect(() =>
      resolveAuthConfig(
        { database: { kind: "postgres" }, password: { memoryCostKiB: 16 } } as never,
        { extra: 1 } as never,
      ),
    ).toThrow(/\/database\/url: required with kind postgres/);
    try {
      resolveAuthConfig({ password: { memoryCostKiB: 16 } }, {});
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe("AUTH_CONFIG_INVALID");
      expect((e as Error).message).toMatch(/\/password\/memoryCostKiB/);
    }
  });
});
