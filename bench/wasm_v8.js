// V8 baseline for bench_wasm: node bench/wasm_v8.js FILE.wasm FN ARG REPS
// prints the median wall time in ns of REPS calls of FN(ARG) on one instance
// (after one warm-up call, so tier-up is included as in steady state).
const fs = require('fs');
const [file, fn, arg, reps] = process.argv.slice(2);
const mod = new WebAssembly.Module(fs.readFileSync(file));
const inst = new WebAssembly.Instance(mod, { env: { bench_nop: (x) => x } });
const f = inst.exports[fn];
f(Number(arg));
const t = [];
for (let i = 0; i < Number(reps); i++) {
  const s = process.hrtime.bigint();
  f(Number(arg));
  t.push(Number(process.hrtime.bigint() - s));
}
t.sort((a, b) => a - b);
console.log(t[Math.floor(t.length / 2)]);
