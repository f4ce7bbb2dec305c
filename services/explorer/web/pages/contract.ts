/**
 * The contract tab of a verified contract's (or a native module's, whose ABI is known) address page: every view/pure function as a form read through the
 * explorer's read-only `eth_call` proxy (`POST /v1/call`), and every other function sent through the injected
 * wallet (EIP-1193 `window.ethereum`: `eth_requestAccounts`, then `eth_sendTransaction`), its hash linked.
 */
import type { FunctionFragment, Interface } from "ethers";
import { ArgError, functionsOf, parseArg, resultText } from "../abiForm.js";
import { api, type ContractAbi, ethCall, NotFound } from "../api.js";
import { h } from "../dom.js";
import { txLink } from "../links.js";

interface Eip1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}
const wallet = (): Eip1193 | undefined => (window as unknown as { ethereum?: Eip1193 }).ethereum;

let formSeq = 0;

/** One function's form: an input per parameter (plus value for payable ones), a button, an output line. */
function fnForm(
  f: FunctionFragment,
  kind: "read" | "write",
  run: (args: unknown[], value: bigint, out: HTMLElement) => Promise<void>,
): HTMLElement {
  const id = `fn-${kind}-${++formSeq}`;
  const out = h("output", { class: "fn-out", "aria-live": "polite", for: id });
  const inputs = f.inputs.map((p, i) => {
    const input = h("input", {
      id: `${id}-${i}`,
      name: `arg${i}`,
      autocomplete: "off",
      spellcheck: "false",
      placeholder: p.type,
    });
    return {
      p,
      input,
      row: h(
        "div",
        { class: "fn-arg" },
        h("label", { for: `${id}-${i}` }, `${p.name || `arg${i}`} (${p.type})`),
        input,
      ),
    };
  });
  const valueInput = f.payable
    ? h("input", { id: `${id}-value`, name: "value", inputmode: "numeric", placeholder: "0" })
    : null;
  const form = h(
    "form",
    { class: "fn", id, "data-fn": f.name },
    inputs.map((x) => x.row),
    valueInput ? h("div", { class: "fn-arg" }, h("label", { for: `${id}-value` }, "value (wei)"), valueInput) : null,
    h("button", { type: "submit" }, kind === "read" ? "Query" : "Write"),
    out,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    out.replaceChildren("…");
    void (async () => {
      try {
        const args = inputs.map((x) => parseArg(x.p, x.input.value));
        const v = valueInput?.value.trim() ?? "";
        if (v !== "" && !/^[0-9]+$/.test(v)) throw new ArgError("value: wei as a decimal integer");
        await run(args, v === "" ? 0n : BigInt(v), out);
      } catch (e) {
        out.replaceChildren(
          h("span", { class: "badge fail" }, "Error"),
          " ",
          e instanceof Error ? e.message : String(e),
        );
      }
    })();
  });
  return h("details", { class: "fn-box" }, h("summary", {}, h("code", {}, f.format("sighash"))), form);
}

/** A revert as text: the contract's own custom error decoded by its ABI when it matches, else the node's message. */
function revertText(iface: Interface, e: { message: string; data: string | null } | null): string {
  if (e === null) return "no result";
  if (e.data !== null && e.data.length >= 10) {
    try {
      const err = iface.parseError(e.data);
      if (err !== null) return `${err.name}(${err.args.map((a) => resultText(a)).join(", ")})`;
    } catch {
      // not one of this ABI's errors (Error(string) is already in the node's message)
    }
  }
  return e.message;
}

function readForm(iface: Interface, address: string, f: FunctionFragment): HTMLElement {
  return fnForm(f, "read", async (args, _value, out) => {
    const r = await ethCall(address, iface.encodeFunctionData(f, args));
    if (r.error !== null || r.result === null) {
      out.replaceChildren(h("span", { class: "badge fail" }, "Reverted"), " ", revertText(iface, r.error));
      return;
    }
    const decoded = iface.decodeFunctionResult(f, r.result);
    out.replaceChildren(
      h(
        "ul",
        { class: "args" },
        f.outputs.map((o, i) =>
          h(
            "li",
            {},
            h("span", { class: "arg-name" }, `${o.name || `[${i}]`} (${o.type})`),
            " ",
            h("code", { class: "result" }, resultText(decoded[i])),
          ),
        ),
      ),
    );
  });
}

export async function contractTab(address: string): Promise<HTMLElement | null> {
  let v: ContractAbi;
  try {
    v = await api<ContractAbi>(`/v1/contracts/${address}/abi`);
  } catch (e) {
    if (e instanceof NotFound) return null;
    throw e;
  }
  const { iface, reads, writes } = functionsOf(v.abi);
  let account: string | null = null;
  const who = h("span", { id: "wallet-account", class: "mono" }, "");
  const connect = h("button", { type: "button", id: "connect-wallet" }, "Connect wallet");
  connect.addEventListener("click", () => {
    const w = wallet();
    if (w === undefined) {
      who.replaceChildren("No wallet found in this browser (an EIP-1193 window.ethereum).");
      return;
    }
    void w.request({ method: "eth_requestAccounts" }).then(
      (accounts) => {
        account = (accounts as string[])[0] ?? null;
        who.replaceChildren(account === null ? "The wallet gave no account." : `Connected: ${account}`);
      },
      (e: unknown) => who.replaceChildren(`Wallet refused: ${e instanceof Error ? e.message : String(e)}`),
    );
  });
  const writeForm = (f: FunctionFragment) =>
    fnForm(f, "write", async (args, value, out) => {
      const w = wallet();
      if (w === undefined || account === null) throw new Error("connect a wallet first");
      const data = iface.encodeFunctionData(f, args);
      const hash = (await w.request({
        method: "eth_sendTransaction",
        params: [{ from: account, to: address, data, ...(value > 0n ? { value: `0x${value.toString(16)}` } : {}) }],
      })) as string;
      out.replaceChildren("Sent: ", txLink(hash));
    });
  return h(
    "section",
    { id: "contract", "aria-labelledby": "contract-h" },
    h("h2", { id: "contract-h" }, `Contract: ${v.name}`),
    h(
      "p",
      { class: "muted" },
      v.source === "verified" ? "ABI from the verified source." : "A native module: its ABI is built into the chain.",
    ),
    h("h3", {}, `Read (${reads.length})`),
    reads.length === 0
      ? h("p", { class: "muted" }, "No view functions")
      : h(
          "div",
          { id: "contract-read" },
          reads.map((f) => readForm(iface, address, f)),
        ),
    h("h3", {}, `Write (${writes.length})`),
    h("p", {}, connect, " ", who),
    writes.length === 0
      ? h("p", { class: "muted" }, "No state-changing functions")
      : h("div", { id: "contract-write" }, writes.map(writeForm)),
  );
}
