// Loop time of the latest ok run of each scenario, per mode, kept in the browser: the outcome
// compares the blocking and non-blocking runs of what is on screen.

const key = (scenario) => `loopscope:elapsed:${scenario}`;
const saved = (scenario) => JSON.parse(localStorage.getItem(key(scenario)) || "{}");

// `request`: what the trace on screen is a run of, {scenario, blocking}, or null.
export function comparison(request) {
  if (!request) return "";
  const times = saved(request.scenario);
  const part = (name) => (times[name] === undefined ? `${name}: not run yet` : `${name}: ${times[name]} s`);
  return `Loop time of the latest runs — ${part("non-blocking")} · ${part("blocking")}`;
}

export function remember(request, end) {
  if (!request || end.status !== "ok") return;
  const times = saved(request.scenario);
  times[request.blocking ? "blocking" : "non-blocking"] = end.elapsed;
  localStorage.setItem(key(request.scenario), JSON.stringify(times));
}
