// Loads an `nndsl export --format tfjs` folder with tf.loadLayersModel, as a TF.js user
// would (tests/test_tfjs.py): FOLDER INPUT.npy OUTPUT.npy. The support module is imported
// for the layers it registers (KerasGRU, GroupedConv, ...).
import { readFileSync, writeFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { encodeNpy, parseNpy, setBackend } from "./_tfjs_support.mjs";

const [folder, input, output] = process.argv.slice(2);
await setBackend("cpu");
const json = JSON.parse(readFileSync(`${folder}/model.json`, "utf8"));
const weightData = new Uint8Array(readFileSync(`${folder}/weights.bin`)).buffer;
const artifacts = { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData };
const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
const x = parseNpy(new Uint8Array(readFileSync(input)));
const y = model.predict(tf.tensor(x.data, x.shape));
writeFileSync(output, encodeNpy({ data: y.dataSync(), shape: y.shape }));
