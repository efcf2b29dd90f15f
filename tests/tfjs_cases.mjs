// Runs many generated tfjs modules in one node process (tests/test_tfjs.py): for each entry
// of the manifest {module, weights, inputs: [.npy], output}, load the canonical weights,
// predict the logits and write them (an .npz of the outputs); a failure is written as
// {error} into the output path + ".err" and the next entry runs.
import { readFileSync, writeFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";

const [manifestPath, backend = "cpu"] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
let support = null;
for (const entry of manifest) {
  try {
    const m = await import(entry.module);
    support ??= await import(new URL("./_tfjs_support.mjs", m.default ?? entry.module).href);
    if (tf.getBackend() !== backend) await support.setBackend(backend);
    const model = await m.load(entry.weights);
    const inputs = [];
    for (const [k, path] of entry.inputs.entries()) {
      const array = await support.readNpy(path);
      inputs.push(tf.tensor(array.data, array.shape, Object.values(m.INPUT_DTYPES)[k].startsWith("int") ? "int32" : "float32"));
    }
    const result = m.predict(model, inputs.length === 1 ? inputs[0] : inputs);
    const outputs = Array.isArray(result) ? result : [result];
    const arrays = Object.fromEntries(outputs.map((t, i) => [`out${i}`, { data: t.dataSync(), shape: t.shape }]));
    writeFileSync(entry.output, support.encodeNpz(arrays));
    tf.dispose([...inputs, ...outputs]);
    model.dispose();
  } catch (err) {
    writeFileSync(`${entry.output}.err`, String(err?.stack ?? err).split("\n").slice(0, 3).join(" | "));
  }
}
