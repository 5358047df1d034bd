// `npm run build`: the operator and every dependency it uses in one file,
// dist/main.js, which is all the image ships (docs/adr/0008).
import { readFileSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { build, type Plugin } from 'esbuild';

// An ESM import of a built-in module makes Node build its ESM facade, which reads
// every export once: node:http's lazy WebSocket, CloseEvent and MessageEvent then
// load Node's own copy of undici and the web streams (a second HTTP client, never
// used). Through require(), exports are read only when used.
const builtinsThroughRequire: Plugin = {
  name: 'builtins-through-require',
  setup(build) {
    build.onResolve({ filter: /^[a-z_/:]+$/ }, (args) =>
      (args.kind === 'import-statement' || args.kind === 'dynamic-import') && isBuiltin(args.path)
        ? { path: args.path, namespace: 'builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

const outfile = 'dist/main.js';
await build({
  entryPoints: ['src/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  // Whitespace only: names stay, so stack traces read without source maps.
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  legalComments: 'linked',
  logLevel: 'warning',
  plugins: [builtinsThroughRequire],
  inject: ['src/bundle-globals.ts'],
  // Bundled CommonJS packages call require() for Node's built-in modules.
  banner: {
    js: "import{createRequire}from'node:module';const require=createRequire(import.meta.url);",
  },
});

// esbuild leaves non-ASCII characters in regular expression literals (one, from a
// PowerShell helper of @azure/identity's dependencies), and a single one makes V8
// hold the whole source as two bytes a character: 8.7 MB instead of 4.3. A \u escape
// means the same character in a regular expression, a string or a comment.
const source = readFileSync(outfile, 'utf8');
writeFileSync(
  outfile,
  source.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
);
