// Copies the non-TypeScript runtime files of lib/ (the wasm pthread worker bootstrap) into dist/.
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
for (const rel of ['backend/wasm-pthread-worker.cjs']) {
  const to = path.join(root, 'dist', rel);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(root, 'lib', rel), to);
}
