/**
 * The project's import graph, read with a small regex walker (static
 * `import`/`export ... from` and `import('...')` of relative paths; type-only
 * imports count too: a reader follows them the same way). Used by
 * imports.test.ts to hold the floors and forbid cycles.
 *
 * Floors, bottom up: media/ (the wire and the audio primitives), then
 * pipeline/ and storage/, then src/ (the process), then tools/ (benchmarks,
 * simulators, generators). A module may import its own floor or lower ones.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export const FLOORS: Record<string, number> = { media: 0, pipeline: 1, storage: 1, src: 2, tools: 3 };

export type ImportGraph = Map<string, string[]>;

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Strips comments so an import inside a doc comment is not read as one. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** The relative imports of one source text (specifiers as written). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of withoutComments(text).matchAll(IMPORT)) out.push((m[1] ?? m[2])!);
  return out;
}

/** Every module under the floors' folders of `root`, with the modules it imports (paths relative to root, '/'-separated). */
export function readImportGraph(root: string): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const top of Object.keys(FLOORS)) {
    let files: string[];
    try { files = sourceFiles(join(root, top)); } catch { continue; }
    for (const file of files) {
      const from = relative(root, file).split(sep).join('/');
      const targets = importsOf(readFileSync(file, 'utf8')).map((spec) => relative(root, resolve(dirname(file), spec)).split(sep).join('/'));
      graph.set(from, [...new Set(targets)]);
    }
  }
  return graph;
}

/** The floor of a module path, or undefined outside the floors (e.g. test/, fixtures/). */
export function floorOf(path: string): number | undefined {
  return FLOORS[path.split('/')[0]!];
}

/** Imports from a lower floor to a higher one: "from -> to". */
export function upwardImports(graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const f = floorOf(from);
    if (f === undefined) continue;
    for (const to of targets) {
      const t = floorOf(to);
      if (t !== undefined && t > f) out.push(`${from} -> ${to}`);
    }
  }
  return out.sort();
}

/** Import cycles (strongly connected components of more than one module, or a module importing itself), each sorted. */
export function importCycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative (deep graphs must not overflow the stack).
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  for (const start of graph.keys()) {
    if (indices.has(start)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    indices.set(start, index); low.set(start, index); index++;
    stack.push(start); onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const targets = (graph.get(top.node) ?? []).filter((t) => graph.has(t));
      if (top.next < targets.length) {
        const t = targets[top.next++]!;
        if (!indices.has(t)) {
          indices.set(t, index); low.set(t, index); index++;
          stack.push(t); onStack.add(t);
          work.push({ node: t, next: 0 });
        } else if (onStack.has(t)) low.set(top.node, Math.min(low.get(top.node)!, indices.get(t)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === indices.get(top.node)) {
        const component: string[] = [];
        let n: string;
        do { n = stack.pop()!; onStack.delete(n); component.push(n); } while (n !== top.node);
        if (component.length > 1 || (graph.get(top.node) ?? []).includes(top.node)) cycles.push(component.sort());
      }
    }
  }
  return cycles;
}
