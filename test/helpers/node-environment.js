/**
 * Jest's node environment runs tests in a separate V8 realm, so typed arrays made by native addons
 * (ONNX Runtime returns its outputs from C++) fail `instanceof` checks against the test realm's
 * constructors. This environment hands the test realm the process's own typed-array classes.
 */
const { TestEnvironment } = require("jest-environment-node");

const SHARED = [
  "ArrayBuffer", "SharedArrayBuffer", "DataView",
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
];

class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArraysEnvironment;
