// Runs an ONNX model in ONNX Runtime (a second runtime, independent of OpenCV) on a deterministic input
// and prints its first output as JSON. Used by tools/check_onnxruntime.sh; needs onnxruntime-node
// (npm install --ignore-scripts onnxruntime-node) under NODE_PATH.
//   node tools/check_onnxruntime.js MODEL.onnx N C H W
const ort = require('onnxruntime-node');

async function main() {
  const [model, ...dims] = process.argv.slice(2);
  const shape = dims.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  // The same values tools/check_onnxruntime.sh feeds OpenCV: sin(0.37 i) / 2.
  const data = Float32Array.from({length: count}, (_, i) => Math.fround(Math.sin(0.37 * i) * 0.5));
  const session = await ort.InferenceSession.create(model);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, shape)};
  const out = await session.run(feeds);
  const first = out[session.outputNames[0]];
  process.stdout.write(JSON.stringify({dims: first.dims, data: Array.from(first.data)}));
}

main().catch((e) => {
  process.stderr.write('check_onnxruntime: ' + e.message + '\n');
  process.exit(1);
});
