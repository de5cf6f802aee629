// Summarize a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by module
// (package under node_modules, or file under src/). Used by `bench/run.ts --profile`.
//   node bench/profile-summary.ts FILE.cpuprofile
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function moduleOf(url: string): string {
  if (!url) return '(native / V8)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const src = /\/(src\/.+|bench\/.+)$/.exec(url);
  if (src) return src[1]!;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, top = 25): string {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const byFn = new Map<string, number>();
  const byMod = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    const fn = `${functionName || '(anonymous)'} ${url ? `${moduleOf(url)}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    const mod =
      functionName === '(idle)'
        ? '(idle)'
        : functionName === '(garbage collector)'
          ? '(garbage collector)'
          : functionName === '(program)'
            ? '(program)'
            : moduleOf(url);
    byMod.set(mod, (byMod.get(mod) ?? 0) + us);
  }
  const busy = total - (byMod.get('(idle)') ?? 0);
  const fmt = (m: Map<string, number>) =>
    [...m]
      .filter(([k]) => !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
      .join('\n');
  return `  sampled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (percentages of busy time)\n  -- self time by module --\n${fmt(byMod)}\n  -- self time by function --\n${fmt(byFn)}`;
}

if (import.meta.main) console.log(summarizeProfile(process.argv[2]!, Number(process.argv[3] ?? 40)));
