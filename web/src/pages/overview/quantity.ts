// Kubernetes quantities as numbers: CPU in cores, memory in bytes.
const units: Record<string, number> = {
  m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50,
};

export function quantity(q?: string | null): number {
  if (!q) return 0;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return NaN;
  const u = m[2] ? units[m[2]] : 1;
  return u === undefined ? NaN : Number(m[1]) * u;
}

/** usage sums the requests of the jobs that hold quota (admitted or running) and running notebooks. */
export function usage(
  jobs: { state?: string; spec?: { replicas?: number; resources?: { cpu?: string; memory?: string; gpu?: number } } }[],
  notebooks: { state?: string; resources?: { cpu?: string; memory?: string; gpu?: number } }[],
): { cpu: number; memory: number; gpu: number } {
  const u = { cpu: 0, memory: 0, gpu: 0 };
  const add = (r: { cpu?: string; memory?: string; gpu?: number } | undefined, n: number) => {
    u.cpu += quantity(r?.cpu) * n; u.memory += quantity(r?.memory) * n; u.gpu += (r?.gpu ?? 0) * n;
  };
  for (const j of jobs) if (j.state === 'running' || j.state === 'admitted' || j.state === 'starting') add(j.spec?.resources, j.spec?.replicas ?? 1);
  for (const n of notebooks) if (n.state === 'running' || n.state === 'starting') add(n.resources, 1);
  return u;
}
