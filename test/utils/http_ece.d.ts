// http_ece 1.2.0 (RFC 8188 / RFC 8291 content encoding, a dependency of web-push) ships no types; only what the
// push test uses to decrypt a Web Push payload as a browser would.
declare module "http_ece" {
  import type { ECDH } from "node:crypto";

  interface Params {
    version: "aes128gcm" | "aesgcm";
    privateKey?: ECDH;
    authSecret?: string;
    dh?: string;
    keyid?: string;
  }
  const ece: { decrypt(buffer: Buffer, params: Params): Buffer; encrypt(buffer: Buffer, params: Params): Buffer };
  export default ece;
}
