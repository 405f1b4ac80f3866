// A local HTTPS server for tests/integration/capsule_remote.sh (no outside
// network): serves the files of DIR, a fake GitHub API under /api, and
// hostile answers (oversized, truncated, redirect loop, a redirect to
// plain http). Listens on 127.0.0.1, an ephemeral port written to PORTFILE.
// usage: node https-server.js CERT KEY DIR PORTFILE
const https = require('https');
const fs = require('fs');
const path = require('path');
const [cert, key, dir, portFile] = process.argv.slice(2);
const BIG = 51 * 1024 * 1024;
let port = 0;

function zeros(res, n, withLength) {
  res.writeHead(200, withLength ? { 'Content-Length': n } : {});
  const chunk = Buffer.alloc(1 << 20);
  let left = n;
  const pump = () => {
    while (left > 0) {
      const c = chunk.subarray(0, Math.min(left, chunk.length));
      left -= c.length;
      if (!res.write(c)) return res.once('drain', pump);
    }
    res.end();
  };
  res.on('error', () => {});
  pump();
}

const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  const u = req.url.split('?')[0];
  const base = `https://localhost:${port}`;
  const m = u.match(/^\/api\/repos\/([^/]+)\/([^/]+)\/releases\/latest$/);
  if (m) {
    const assets = [{ name: 'README.md', browser_download_url: `${base}/README.md` }];
    if (m[2] !== 'empty') assets.push({ name: `${m[2]}.capsule`, browser_download_url: `${base}/${m[2]}.capsule` });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify({ tag_name: 'v1.0.0', assets }));
  }
  if (u === '/big.capsule') return zeros(res, BIG, true);
  if (u === '/bigchunked.capsule') return zeros(res, BIG, false);
  if (u === '/loop.capsule') { res.writeHead(302, { Location: '/loop.capsule' }); return res.end(); }
  if (u === '/redir.capsule') { res.writeHead(302, { Location: '/good.capsule' }); return res.end(); }
  if (u === '/plain.capsule') { res.writeHead(302, { Location: `http://127.0.0.1:${port}/good.capsule` }); return res.end(); }
  if (u === '/trunc.capsule') {
    const data = fs.readFileSync(path.join(dir, 'good.capsule'));
    res.writeHead(200, { 'Content-Length': data.length });
    res.write(data.subarray(0, data.length >> 1));
    return setTimeout(() => req.socket.destroy(), 100);
  }
  const file = path.join(dir, path.basename(u));
  if (!u.endsWith('/') && fs.existsSync(file)) {
    const data = fs.readFileSync(file);
    res.writeHead(200, { 'Content-Length': data.length });
    return res.end(data);
  }
  res.writeHead(404);
  res.end('not found');
});
server.listen(0, '127.0.0.1', () => {
  port = server.address().port;
  fs.writeFileSync(portFile + '.tmp', String(port));
  fs.renameSync(portFile + '.tmp', portFile);
});
