// Runs inside a validator's network namespace (`ip netns exec NS node forward.js SOCK PORT`): accepts connections
// on the Unix socket SOCK and pipes each to 127.0.0.1:PORT in the namespace (the node's JSON-RPC / WebSocket).
// Unix sockets live in the file system, not in a network namespace, so the bench on the host can reach it.
// Exits when its stdin closes (the bench is gone) or on SIGTERM.
import { rmSync } from "node:fs";
import { connect, createServer } from "node:net";

const [sock, portArg] = process.argv.slice(2);
const port = Number(portArg);
if (sock === undefined || !Number.isInteger(port) || port <= 0) {
  process.stderr.write("usage: forward.js <unix socket path> <tcp port>\n");
  process.exit(2);
}

const server = createServer((client) => {
  const upstream = connect(port, "127.0.0.1");
  upstream.setNoDelay(true);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", end).on("close", end);
  upstream.on("error", end).on("close", end);
  client.pipe(upstream);
  upstream.pipe(client);
});

const stop = () => {
  server.close();
  rmSync(sock, { force: true });
  process.exit(0);
};

rmSync(sock, { force: true });
server.listen(sock, () => process.stdout.write("ready\n"));
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
