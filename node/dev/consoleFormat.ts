import { format } from "node:util";
import { AbiCoder, id } from "ethers";

// Loaded by ./consoleLog.ts on a node's first console.sol call: ethers (the ABI decoder) stays out of a dev node
// that never sees one.

const BASE_TYPES = ["uint256", "string", "bool", "address"];
const SINGLE_TYPES = ["int256", "bytes", ...Array.from({ length: 32 }, (_, i) => `bytes${i + 1}`)];

/**
 * Selector → parameter types of every console.sol function: `log()` and `log(...)` of up to four of
 * uint256/string/bool/address, the typed one-argument helpers (`logInt`, `logBytes32`, …), and the
 * `uint`/`int` spellings older console.sol versions hashed (forge-std's console still accepts them).
 */
function buildSignatures(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (name: string, types: string[]) => {
    out.set(id(`${name}(${types.join(",")})`).slice(0, 10), types);
    const legacy = types.map((t) => (t === "uint256" ? "uint" : t === "int256" ? "int" : t));
    out.set(id(`${name}(${legacy.join(",")})`).slice(0, 10), types);
  };
  add("log", []);
  const combos = (n: number): string[][] =>
    n === 0 ? [[]] : combos(n - 1).flatMap((c) => BASE_TYPES.map((t) => [...c, t]));
  for (let n = 1; n <= 4; n++) for (const c of combos(n)) add("log", c);
  for (const t of SINGLE_TYPES) add("log", [t]);
  const named: Record<string, string> = {
    logInt: "int256",
    logUint: "uint256",
    logString: "string",
    logBool: "bool",
    logAddress: "address",
    logBytes: "bytes",
  };
  for (const [name, t] of Object.entries(named)) add(name, [t]);
  for (let i = 1; i <= 32; i++) add(`logBytes${i}`, [`bytes${i}`]);
  return out;
}

const SIGNATURES = buildSignatures();
const coder = AbiCoder.defaultAbiCoder();

/**
 * The text a console.sol call prints, formatted as Hardhat and Anvil do (`%s`, `%d`, `%i`, `%o` in a
 * leading string; otherwise the arguments joined by spaces); null for calldata that is not one.
 */
export function formatConsoleLog(data: Uint8Array): string | null {
  if (data.length < 4) return null;
  const selector = `0x${Buffer.from(data.subarray(0, 4)).toString("hex")}`;
  const types = SIGNATURES.get(selector);
  if (types === undefined) return null;
  let values: unknown[];
  try {
    values = [...coder.decode(types, data.subarray(4))];
  } catch {
    return null;
  }
  const shown = values.map((v) => (typeof v === "bigint" ? v.toString() : v));
  if (typeof shown[0] === "string" && shown.length > 1 && /%[sdio]/.test(shown[0])) {
    return format(shown[0], ...shown.slice(1));
  }
  return shown.map(String).join(" ");
}
