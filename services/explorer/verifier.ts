/** Verification as a use case: read the chain's code and creation record, verify, store the ABI, count the outcome. */
import type { RPCClient } from "../runtime/chain/rpcClient.js";
import { ExplorerError, ExplorerErrorCode } from "./errors.js";
import type { ExplorerMetrics } from "./metrics.js";
import type { ExplorerStore } from "./store.js";
import type { VerificationRow } from "./types.js";
import { type VerifyRequest, verifyContract } from "./verify.js";
import type { Views } from "./views.js";

export interface Verifier {
  verify(req: VerifyRequest): Promise<VerificationRow>;
}

export function createVerifier(mods: {
  store: ExplorerStore;
  rpc: RPCClient;
  views: Views;
  metrics?: ExplorerMetrics;
}): Verifier {
  return {
    async verify(req) {
      const address = req.address.toLowerCase();
      try {
        const [runtimeCode, creation] = await Promise.all([
          mods.rpc.call<string>("eth_getCode", [address, "latest"]),
          mods.store.contract(address),
        ]);
        const r = await verifyContract({ ...req, address }, { runtimeCode, creation });
        const row: VerificationRow = {
          address,
          match: r.match,
          contractName: r.contractName,
          compilerVersion: r.compilerVersion,
          abi: r.abi,
          input: req.input,
          constructorArgs: r.constructorArgs,
          verifiedAt: Math.floor(Date.now() / 1000),
        };
        // A partial match never replaces a full one.
        const prior = await mods.store.verification(address);
        if (!(prior?.match === "full" && r.match === "partial")) await mods.store.saveVerification(row);
        mods.views.invalidate(address);
        mods.metrics?.verifications.inc({ outcome: r.match });
        return row;
      } catch (e) {
        if (e instanceof ExplorerError && e.code === ExplorerErrorCode.VERIFICATION_FAILED)
          mods.metrics?.verifications.inc({ outcome: "refused" });
        throw e;
      }
    },
  };
}
