// node run_onnxruntime.js MODEL.onnx INPUT.f32 N OUTPUT.f32
// Runs an exported model in ONNX Runtime (onnxruntime-node, CPU): INPUT holds N x 3 x 32 x 32
// little-endian floats; the "logits" output is written to OUTPUT the same way. Prints the
// model's metadata as one JSON line.
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, inputPath, n, outputPath] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const raw = fs.readFileSync(inputPath);
  const input = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const feeds = { input: new ort.Tensor('float32', input, [Number(n), 3, 32, 32]) };
  const result = await session.run(feeds);
  const logits = result.logits;
  fs.writeFileSync(outputPath, Buffer.from(logits.data.buffer, logits.data.byteOffset, logits.data.byteLength));
  console.log(JSON.stringify({ inputs: session.inputNames, outputs: session.outputNames, dims: logits.dims }));
}
main().catch((e) => { console.error(`onnxruntime: ${e.message || e}`); process.exit(1); });
