import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest's default is one worker per core minus one: a single worker on the 2-core CI machine. Most of the
    // suite's wall time is e2e files waiting on node processes and block intervals, so two files at a time
    // roughly halve it (CI measured 37 min with one worker); the tests wait for conditions, never for time.
    maxWorkers: 2,
  },
});
