// Baseline for bench/hl7_parse_bench: Node simple-hl7's parser over the same corpus files, with
// the same field accesses (MSH-9, MSH-10, PID-3, PID-5, every OBX-5). Segments are normalised to
// CR first (simple-hl7 splits on CR only); that time is not counted.
//   node bench/baseline/parse_baseline.js [corpus dir]
'use strict';
const fs = require('fs');
const path = require('path');
const Parser = require('simple-hl7/lib/hl7/parser');

const corpus = process.argv[2] || path.join(__dirname, '..', '..', '..', 'shared', 'corpus');
const dir = path.join(corpus, 'hl7v2');
const messages = fs.readdirSync(dir).map((f) =>
  fs.readFileSync(path.join(dir, f), 'utf8').replace(/^\uFEFF/, '').replace(/\r\n|\n/g, '\r'));
const bytes = messages.reduce((n, m) => n + Buffer.byteLength(m), 0);
const parser = new Parser();
let sink = 0;
function pass() {
  for (const text of messages) {
    try {
      const m = parser.parse(text);
      sink += String(m.header.getField(7)).length + String(m.header.getField(8)).length;
      const pid = m.getSegment('PID');
      if (pid) {
        sink += String(pid.getField(3)).length + String(pid.getField(5)).length;
      }
      for (const obx of m.getSegments('OBX')) {
        sink += String(obx.getField(5)).length;
      }
    } catch (e) {
      sink += 1;  // a message it cannot parse still costs the attempt
    }
  }
}
for (let i = 0; i < 3; ++i) pass();  // warm up the JIT
const start = process.hrtime.bigint();
let rounds = 0;
while (process.hrtime.bigint() - start < 3000000000n) {
  pass();
  ++rounds;
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`simple-hl7 parse+access: ${(bytes * rounds / seconds / 1e6).toFixed(1)} MB/s ` +
            `(${messages.length} messages, ${rounds} rounds, checksum ${sink % 1000})`);
