// The dev accounts' keys, the same on both targets of every bench.
export { DEV_KEYS } from "../genesis/devnet.js";
