// Remove build output: lib/, the TypeScript build info and the built labextension.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const path of ['lib', 'tsconfig.tsbuildinfo', join('..', 'src', 'cagents', 'labextension')]) {
  rmSync(join(root, path), { recursive: true, force: true });
}
