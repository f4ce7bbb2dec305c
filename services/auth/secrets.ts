/** Random secrets handed to users (refresh tokens, mail links, recovery codes) and the hashes we store instead. */
import { createHash, randomBytes } from "node:crypto";

export const newSecret = (bytes = 32): string => randomBytes(bytes).toString("base64url");

export const hashSecret = (secret: string): string => createHash("sha256").update(secret).digest("base64url");
