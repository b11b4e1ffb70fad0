// Milliseconds spent per view since the page loaded (the page benchmark reads them).
export const timings = {};

export function timed(name, work) {
  const start = performance.now();
  const result = work();
  timings[name] = (timings[name] || 0) + performance.now() - start;
  return result;
}
