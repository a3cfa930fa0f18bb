// Baseline for bench/mllp_bench: Node simple-hl7's MLLP server, which ACKs (AA) every message
// without storing anything. Binds 127.0.0.1 on a free port and prints "listening on PORT".
'use strict';
const net = require('net');

// simple-hl7 calls server.listen(port) without a host; keep the benchmark on loopback.
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port) {
  this.once('listening', () => {
    process.stdout.write('listening on ' + this.address().port + '\n');
  });
  return listen.call(this, port, '127.0.0.1');
};

const hl7 = require('simple-hl7');
const app = hl7.tcp();
app.use(function (req, res) {
  res.end();
});
app.use(function (err, req, res) {
  if (err) {
    process.stderr.write('simple-hl7 error: ' + err.message + '\n');
  }
});
app.start(0);
process.on('SIGTERM', () => process.exit(0));
