// The server's messages about runs, in one place: which run is on screen, which messages belong
// to runs that a newer Run replaced (the server finishes those first), and what each means.
export function createRuns({ onStatus, onRunning, onEvents, onFinished }) {
  let lastRun = 0; // the highest run id the server has mentioned
  let ignoreUpTo = 0; // messages about runs up to this id belong to replaced runs
  let current = null; // the run on screen
  let asked = false; // the page asked for a run the server has not mentioned yet
  let ignoreAsked = false; // ... and that run, when it comes, is not for the screen either
  let finished = true; // the run on screen is over on the server
  // The stop sent for a forgotten run: "awaiting" its finished; "refused" once that run finished by
  // itself first (its stop then arrived with nothing to stop: the server's error that follows is the
  // stop's answer, not news for the learner); "none".
  let stopAnswer = "none";

  return {
    get current() { return current; },
    // Whether a run the page asked for may still be going on the server.
    get active() { return asked || (current !== null && !finished); },
    // The page just asked for a new run: whatever this socket ran before is history.
    started() {
      ignoreUpTo = lastRun;
      current = null;
      asked = true;
      ignoreAsked = false;
    },
    // Nothing on screen belongs to a run any more, not even one asked for and not yet begun. Returns
    // whether that run may still be going (the page should stop it).
    forget() {
      const active = this.active;
      if (active) stopAnswer = "awaiting";
      ignoreUpTo = lastRun;
      ignoreAsked = asked;
      asked = false;
      current = null;
      return active;
    },
    handle(message) {
      if (message.type === "error") {
        if (stopAnswer === "refused") stopAnswer = "none";
        else onStatus(message.message, "error");
        return;
      }
      if (message.run !== undefined) {
        if (message.run > lastRun && ignoreAsked) {
          ignoreUpTo = message.run;
          ignoreAsked = false;
        }
        lastRun = Math.max(lastRun, message.run);
        if (message.run <= ignoreUpTo) {
          if (message.state === "finished" && stopAnswer === "awaiting") {
            stopAnswer = message.status === "stopped" ? "none" : "refused";
          }
          return;
        }
        if (message.run !== current) finished = false;
        current = message.run;
        asked = false;
      }
      if (message.type === "events") onEvents(message.events);
      else if (message.type !== "status") throw new Error(`unknown message type ${message.type}`);
      else if (message.state === "queued") onStatus(`Waiting for a free slot: position ${message.position} in line…`);
      else if (message.state === "running") onRunning(message.worker);
      else if (message.state === "finished") {
        finished = true;
        onFinished(message.status);
      }
    },
  };
}
