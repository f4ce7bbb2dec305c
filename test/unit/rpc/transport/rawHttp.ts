import { connect } from "node:net";

/** Raw HTTP/1.1 exchanges on real sockets, for the fronts' tests (rpc/transport/httpFront.ts and its users). */

/** Final (non-1xx) responses complete in `text`; each has a Content-Length or no body (204). */
export function finalResponses(text: string): number {
  let count = 0;
  let at = 0;
  for (;;) {
    const headEnd = text.indexOf("\r\n\r\n", at);
    if (headEnd < 0) return count;
    const head = text.slice(at, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    const end = headEnd + 4 + (length === null ? 0 : Number(length[1]));
    if (end > text.length) return count;
    if (!/^HTTP\/1\.1 1\d\d/.test(head)) count++;
    at = end;
  }
}

/**
 * Writes `first` in pieces cut at `cuts` (a macrotask apart), then, once `answers` final responses came, `last`;
 * reads until the server closes.
 */
export function exchange(
  port: number,
  first: Buffer,
  cuts: number[] = [],
  answers = 0,
  last: Buffer = Buffer.alloc(0),
) {
  return new Promise<string>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    let got = "";
    let lastSent = false;
    const sendLast = (): void => {
      if (lastSent || finalResponses(got) < answers) return;
      lastSent = true;
      if (last.length > 0) socket.write(last);
    };
    socket.on("data", (c: Buffer) => {
      got += c.toString("latin1");
      sendLast();
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(normalise(got)));
    const points = [...new Set(cuts.map((c) => c % (first.length + 1)))].sort((a, b) => a - b);
    let from = 0;
    const next = (): void => {
      const to = points.shift() ?? first.length;
      if (!socket.destroyed && to > from) socket.write(first.subarray(from, to));
      from = Math.max(from, to);
      if (from < first.length) setImmediate(next);
      else sendLast();
    };
    socket.on("connect", next);
  });
}

export function normalise(response: string): string {
  return response.replace(/\r\nDate: [^\r]*\r\n/g, "\r\nDate: -\r\n");
}
