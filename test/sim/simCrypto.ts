import { createHash } from "node:crypto";
import type { SimKeys } from "./simNode.js";

/**
 * Simulated signatures: node i's signature on m is sha256(key_i ‖ m), twice. Cheap, and unforgeable for
 * the simulated adversaries, which never hold another node's key — the one property the protocol needs
 * from ed25519.
 */
export class SimCrypto implements SimKeys {
  private readonly keys: Uint8Array[];

  constructor(nodes: number) {
    this.keys = Array.from({ length: nodes }, (_, i) => new Uint8Array(32).fill(i + 1));
  }

  publicKey(i: number): Uint8Array {
    return this.keys[i];
  }

  sign(i: number, message: Uint8Array): Uint8Array {
    return tag(this.keys[i], message);
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    return signature.length === 64 && Buffer.from(tag(publicKey, message)).equals(Buffer.from(signature));
  }
}

function tag(key: Uint8Array, message: Uint8Array): Uint8Array {
  const h = createHash("sha256").update(key).update(message).digest();
  const out = new Uint8Array(64);
  out.set(h, 0);
  out.set(h, 32);
  return out;
}
