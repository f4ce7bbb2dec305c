import onnxProto from "onnx-proto";

/**
 * ONNX models built in-repo with onnx-proto (a devDependency): for the AI bench's generic `ai/onnx` workloads and for
 * unit tests of the generic kind and of the ONNX-encoder path of `ai/embed`. Real work is tested on shipped models.
 */
const { onnx } = onnxProto;
const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;

type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function floatInit(name: string, dims: number[], values: Float32Array) {
  return onnx.TensorProto.create({ name, dims, dataType: F, rawData: new Uint8Array(values.buffer.slice(0)) });
}

/** Deterministic weights in [-1, 1) (xorshift32), so a seed always builds the same model bytes. */
function weights(seed: number, n: number, scale = 1): Float32Array {
  let x = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return ((x / 2 ** 32) * 2 - 1) * scale;
  });
}

function encodeModel(graph: ReturnType<typeof onnx.GraphProto.create>): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "azora-test",
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** MLP 16 -> 32 (ReLU) -> 3 (softmax) with a batch axis "N"; weights from a seeded PRNG. Output `probs`. */
export function buildMLP(seed = 1, opts: { fixedBatch?: boolean; opName?: string } = {}): Uint8Array {
  let k = 0;
  const w = (n: number) => weights(seed * 7919 + k++, n);
  const batch: Dim = opts.fixedBatch ? 1 : "N";
  const graph = onnx.GraphProto.create({
    name: opts.opName ?? "mlp",
    node: [
      { opType: "Gemm", input: ["x", "W1", "B1"], output: ["h"] },
      { opType: "Relu", input: ["h"], output: ["hr"] },
      { opType: "Gemm", input: ["hr", "W2", "B2"], output: ["logits"] },
      {
        opType: "Softmax",
        input: ["logits"],
        output: ["probs"],
        attribute: [{ name: "axis", i: 1, type: onnx.AttributeProto.AttributeType.INT }],
      },
    ],
    initializer: [
      floatInit("W1", [16, 32], w(16 * 32)),
      floatInit("B1", [32], w(32)),
      floatInit("W2", [32, 3], w(32 * 3)),
      floatInit("B2", [3], w(3)),
    ],
    input: [valueInfo("x", F, [batch, 16])],
    output: [valueInfo("probs", F, [batch, 3])],
  });
  return encodeModel(graph);
}

/**
 * A toy sentence encoder with a BERT-style interface: `input_ids`, `attention_mask` (int64 [batch, tokens]) ->
 * `last_hidden_state` = table[input_ids] * mask, float32 [batch, tokens, dims]. `table` rows are token vectors.
 */
export function buildToyEncoder(table: number[][]): Uint8Array {
  const dims = table[0].length;
  const graph = onnx.GraphProto.create({
    name: "toy-encoder",
    node: [
      { opType: "Gather", input: ["E", "input_ids"], output: ["emb"] },
      {
        opType: "Cast",
        input: ["attention_mask"],
        output: ["maskf"],
        attribute: [{ name: "to", i: F, type: onnx.AttributeProto.AttributeType.INT }],
      },
      { opType: "Unsqueeze", input: ["maskf", "axis"], output: ["mask3"] },
      { opType: "Mul", input: ["emb", "mask3"], output: ["last_hidden_state"] },
    ],
    initializer: [
      floatInit("E", [table.length, dims], Float32Array.from(table.flat())),
      onnx.TensorProto.create({ name: "axis", dims: [1], dataType: I64, int64Data: [-1] }),
    ],
    input: [valueInfo("input_ids", I64, ["B", "T"]), valueInfo("attention_mask", I64, ["B", "T"])],
    output: [valueInfo("last_hidden_state", F, ["B", "T", dims])],
  });
  return encodeModel(graph);
}

/** A minimal WordPiece `tokenizer.json` (BERT normaliser and pre-tokeniser, [CLS] x [SEP]) over `words`. */
export function toyTokenizerJSON(words: string[]): string {
  const specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"];
  const vocab = Object.fromEntries([...specials, ...words].map((w, i) => [w, i]));
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      pair: [],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [2], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [3], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  });
}

/**
 * A compute-bound workload with a batch axis: x float32 [N, rows, width] through `layers` of MatMul [width, width]
 * + ReLU, then the mean over rows: `y` float32 [N, width]. Sized by the bench to take about 10 ms at batch 1.
 */
/**
 * The AI bench's "10 ms inference job": 16 layers of 224×512 · 512×512 cost ~10 ms of CPU per run on one core of
 * the 2 vCPU AMD EPYC first measured (8 layers 4.9 ms, 12 layers 7.5 ms, 14 layers 8.9 ms). The services bench sizes
 * its layer count on the machine it runs on instead (`tenMsLayers` in bench/services.ts).
 */
export const TEN_MS_MATMUL = { rows: 224, width: 512, layers: 16 } as const;
export const tenMsMatMulName = (layers: number): string =>
  `matmul stack ${TEN_MS_MATMUL.rows}x${TEN_MS_MATMUL.width}, ${layers} layers (~10 ms)`;
export const TEN_MS_MATMUL_NAME = tenMsMatMulName(TEN_MS_MATMUL.layers);

/** `name` changes only the graph's name, so the same computation gets another model id (sha256 of the file). */
export function buildMatMulStack(opts: {
  rows: number;
  width: number;
  layers: number;
  seed?: number;
  name?: string;
}): Uint8Array {
  const { rows, width, layers } = opts;
  const node: onnxProto.onnx.INodeProto[] = [];
  const initializer = [];
  let prev = "x";
  for (let l = 0; l < layers; l++) {
    initializer.push(
      floatInit(`W${l}`, [width, width], weights((opts.seed ?? 1) * 131 + l, width * width, 1 / Math.sqrt(width))),
    );
    node.push({ opType: "MatMul", input: [prev, `W${l}`], output: [`m${l}`] });
    node.push({ opType: "Relu", input: [`m${l}`], output: [`r${l}`] });
    prev = `r${l}`;
  }
  node.push({
    opType: "ReduceMean",
    input: [prev],
    output: ["y"],
    attribute: [
      { name: "axes", ints: [1], type: onnx.AttributeProto.AttributeType.INTS },
      { name: "keepdims", i: 0, type: onnx.AttributeProto.AttributeType.INT },
    ],
  });
  const graph = onnx.GraphProto.create({
    name: opts.name ?? "matmul-stack",
    node,
    initializer,
    input: [valueInfo("x", F, ["N", rows, width])],
    output: [valueInfo("y", F, ["N", width])],
  });
  return encodeModel(graph);
}
