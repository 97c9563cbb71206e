// The registry mirror this project is built against lacks the non-Linux builds of
// @biomejs/cli-*, so `npm install` leaves them out of package-lock.json and a
// later `npm ci` refuses the lock as out of sync. This adds their entries (with
// os/cpu so npm never fetches them here). Run after changing the biome version:
//   node scripts/complete-lockfile.mjs package-lock.json
import fs from 'node:fs';

const file = process.argv[2];
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const platforms = {
  'cli-android-arm64': [['android'], ['arm64'], null],
  'cli-android-x64': [['android'], ['x64'], null],
  'cli-darwin-arm64': [['darwin'], ['arm64'], null],
  'cli-darwin-x64': [['darwin'], ['x64'], null],
  'cli-linux-arm64-musl': [['linux'], ['arm64'], ['musl']],
  'cli-linux-x64-musl': [['linux'], ['x64'], ['musl']],
  'cli-win32-arm64': [['win32'], ['arm64'], null],
  'cli-win32-x64': [['win32'], ['x64'], null],
};
const version = lock.packages['node_modules/@biomejs/biome'].version;
for (const [name, [os, cpu, libc]] of Object.entries(platforms)) {
  const key = `node_modules/@biomejs/${name}`;
  if (lock.packages[key]) continue;
  lock.packages[key] = {
    version,
    cpu,
    dev: true,
    ...(libc ? { libc } : {}),
    license: 'MIT OR Apache-2.0',
    optional: true,
    os,
    engines: { node: '>=14.21.3' },
  };
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
