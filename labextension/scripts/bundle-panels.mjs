// Bundle each panel (src/panels/NAME.ts) into one self-contained ESM file for anywidget's `_esm`,
// and its stylesheet (style/base.css + style/forms.css + style/NAME.css) beside it for `_css`.
// Output: ../src/cagents/labextension/panels/NAME.js and NAME.css.
import { build, context } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, '..', 'src', 'cagents', 'labextension', 'panels');
const panels = readdirSync(join(root, 'src', 'panels'))
  .filter(name => name.endsWith('.ts') && !name.endsWith('.d.ts'))
  .map(name => name.slice(0, -3));
const entryPoints = panels.map(name => join(root, 'src', 'panels', `${name}.ts`));

const options = {
  entryPoints,
  outdir,
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'info'
};

mkdirSync(outdir, { recursive: true });
const css = name => readFileSync(join(root, 'style', name), 'utf8');
for (const name of panels) {
  const own = existsSync(join(root, 'style', `${name}.css`)) ? css(`${name}.css`) : '';
  writeFileSync(join(outdir, `${name}.css`), `${css('base.css')}\n${css('forms.css')}\n${own}`);
}
if (process.argv.includes('--watch')) {
  const ctx = await context(options);
  await ctx.watch();
} else {
  await build(options);
}
