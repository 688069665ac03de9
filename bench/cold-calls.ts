/**
 * Each given API call alone, cold: a server started for the call over the warehouse (no warm-up,
 * so no answer cached and no block of the file read yet), the call, then the same call again. Prints
 * the wall time and the process's CPU time of the cold call (user + system, DuckDB's threads
 * included: the server runs in this process), which a loaded machine inflates far less than the
 * wall time. `SHOW=n` prints the first n characters of each answer.
 *
 * npx tsx bench/cold-calls.ts WAREHOUSE.duckdb 'GET /v1/insights/clv/pareto' 'POST /v1/load {"query":{...}}'
 */
import { startServer } from '../src/api/server.ts';

const [dbPath, ...calls] = process.argv.slice(2);
if (!dbPath || calls.length === 0) {
  console.error(
    "usage: npx tsx bench/cold-calls.ts WAREHOUSE.duckdb 'GET /v1/...' ['POST /v1/load {...}' ...]",
  );
  process.exit(2);
}
for (const call of calls) {
  const [method = 'GET', path = '/', ...rest] = call.split(' ');
  const body = rest.join(' ');
  const server = await startServer({
    dbPath,
    port: 0,
    demoMode: true,
    log: false,
    refreshMs: 0,
    warmUpAtStart: false,
  });
  try {
    const ask = async () => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === '' ? {} : { body }),
      });
      const text = await res.text();
      const cpu = process.cpuUsage(cpu0);
      return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, status: res.status, text };
    };
    const cold = await ask();
    const again = await ask();
    console.log(
      `${cold.ms.toFixed(0).padStart(6)} ms cold (CPU ${cold.cpuMs.toFixed(0).padStart(5)} ms), ${again.ms.toFixed(0).padStart(4)} ms again, HTTP ${cold.status}, ${cold.text.length} B  ${call.slice(0, 120)}`,
    );
    if (process.env.SHOW) console.log(cold.text.slice(0, Number(process.env.SHOW)));
  } finally {
    await server.close();
  }
}
