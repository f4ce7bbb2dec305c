import onnxProto from "onnx-proto";
import { PRNG } from "./prng.js";

/**
 * Tiny ONNX models built in-repo with onnx-proto, for unit tests of the generic `ai/onnx` kind and of the ONNX
 * encoder path of `ai/embed` only: real work is tested on the shipped models.
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
  const rand = new PRNG(seed);
  const w = (n: number) => Float32Array.from({ length: n }, () => rand.next() * 2 - 1);
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
