import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { createStorageBackend, resolveStorageConfig, StorageErrorCode } from "../../services/storage/index.js";

/**
 * The Kubo backend is chosen by config. No Kubo daemon can be installed on this machine (STACK-NOTES §9),
 * so the adapter is not proven against one here; this checks only what can be checked honestly: an
 * unreachable daemon is a clear BACKEND_UNAVAILABLE at start, not a hang or a crash later.
 */
describe("kubo backend", () => {
  it("fails at start with STORAGE_BACKEND_UNAVAILABLE when no daemon answers", async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r())); // nothing listens there now
    const cfg = resolveStorageConfig(undefined, { backend: "kubo", kubo: { url: `http://127.0.0.1:${port}` } });
    await expect(createStorageBackend(cfg)).rejects.toMatchObject({
      code: StorageErrorCode.BACKEND_UNAVAILABLE,
      message: expect.stringContaining(`127.0.0.1:${port}`),
    });
  });
});
