import type { Logger } from "../../runtime/lib/logger.js";

/** Hardhat's console.sol sends its calls here (the bytes of "console.log"); no code lives there. */
export const CONSOLE_ADDRESS = "0x000000000000000000636f6e736f6c652e6c6f67";

/** What the hook listens to: the EVM's message events (ethereumjs `evm.events`). */
export interface MessageEvents {
  on(event: "beforeMessage", listener: (message: { to?: { toString(): string }; data: Uint8Array }) => void): unknown;
}

/** Prints console.sol output of executed transactions in the node log, as Anvil does. */
export function logConsoleCalls(events: MessageEvents, log: Logger): void {
  // The decoder is imported on the first call to the console address; lines keep their order (one promise,
  // callbacks in the order they were added). The calldata is copied: the EVM owns the view.
  let decoder: Promise<typeof import("./consoleFormat.js")> | undefined;
  events.on("beforeMessage", (message) => {
    if (message.to?.toString() !== CONSOLE_ADDRESS) return;
    const data = Uint8Array.from(message.data);
    decoder ??= import("./consoleFormat.js");
    decoder.then(
      ({ formatConsoleLog }) => {
        const text = formatConsoleLog(data);
        if (text !== null) log.info("console.log", { text });
      },
      (e: unknown) => log.warn("console.log decoder failed to load", {}, e),
    );
  });
}
