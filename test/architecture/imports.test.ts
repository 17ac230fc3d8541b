/**
 * The import graph holds the floors and has no cycle: media/ at the bottom,
 * then pipeline/ and storage/, then src/, then tools/; a module imports its
 * own floor or lower ones, and no module imports one that imports it back
 * (directly or around a loop). The checker itself is tested on small graphs
 * first, so a broken checker cannot pass the real tree.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { importCycles, importsOf, readImportGraph, upwardImports, type ImportGraph } from './import-graph.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const graphOf = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

test('the walker reads static, re-exported, type-only and dynamic imports, and skips comments and packages', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from '../b/b.ts';",
    'import {\n  c,\n  type D,\n} from "./c.ts";',
    "export * from './e.ts';",
    "export { f } from './f.ts';",
    "const g = await import('./g.ts');",
    "import { h } from 'node:events';",
    "// import { x } from './commented.ts';",
    "/* import { y } from './block.ts'; */",
    "import './side-effect.ts';",
  ].join('\n');
  assert.equal(importsOf(text), ['./a.ts', '../b/b.ts', './c.ts', './e.ts', './f.ts', './g.ts', './side-effect.ts']);
});

test('the checker finds a cycle, direct or around a loop, and a module importing itself', () => {
  assert.equal(importCycles(graphOf({ 'src/a.ts': ['src/b.ts'], 'src/b.ts': [] })), []);
  assert.equal(importCycles(graphOf({ 'media/x.ts': ['media/y.ts'], 'media/y.ts': ['media/x.ts'] })), [['media/x.ts', 'media/y.ts']]);
  assert.equal(
    importCycles(graphOf({ 'src/a.ts': ['src/b.ts'], 'src/b.ts': ['src/c.ts'], 'src/c.ts': ['src/a.ts'], 'src/d.ts': ['src/a.ts'] })),
    [['src/a.ts', 'src/b.ts', 'src/c.ts']],
  );
  assert.equal(importCycles(graphOf({ 'src/self.ts': ['src/self.ts'] })), [['src/self.ts']]);
});

test('the checker finds an import from a lower floor to a higher one, and allows the other way', () => {
  const graph = graphOf({
    'media/rtp/session.ts': ['pipeline/frames.ts', 'media/audio/g711.ts'],
    'pipeline/transport.ts': ['media/audio/frames.ts', 'storage/index.ts'],
    'storage/index.ts': ['src/log.ts'],
    'src/server.ts': ['media/sip/index.ts', 'pipeline/index.ts', 'storage/index.ts', 'tools/bench/run.ts'],
    'tools/bench/run.ts': ['src/server.ts'],
  });
  assert.equal(upwardImports(graph), [
    'media/rtp/session.ts -> pipeline/frames.ts',
    'src/server.ts -> tools/bench/run.ts',
    'storage/index.ts -> src/log.ts',
  ]);
});

test('the project: no import from a lower floor to a higher one', () => {
  const graph = readImportGraph(root);
  assert.ok(graph.size > 100, `read the tree (${graph.size} modules)`);
  assert.equal(upwardImports(graph), []);
});

test('the project: no import cycle', () => {
  assert.equal(importCycles(readImportGraph(root)), []);
});

test.run();
