// The server's messages about runs, in one place: which run is on screen, which messages belong
// to runs that a newer Run replaced (the server finishes those first), and what each means.
export function createRuns({ onStatus, onRunning, onEvents, onFinished }) {
  let lastRun = 0; // the highest run id the server has mentioned
  let ignoreUpTo = 0; // messages about runs up to this id belong to replaced runs
  let current = null; // the run on screen

  return {
    get current() { return current; },
    // The page just asked for a new run: whatever this socket ran before is history.
    started() {
      ignoreUpTo = lastRun;
      current = null;
    },
    handle(message) {
      if (message.type === "error") {
        onStatus(message.message, "error");
        return;
      }
      if (message.run !== undefined) {
        lastRun = Math.max(lastRun, message.run);
        if (message.run <= ignoreUpTo) return;
        current = message.run;
      }
      if (message.type === "events") onEvents(message.events);
      else if (message.type !== "status") throw new Error(`unknown message type ${message.type}`);
      else if (message.state === "queued") onStatus(`Waiting for a free slot: position ${message.position} in line…`);
      else if (message.state === "running") onRunning();
      else if (message.state === "finished") onFinished(message.status);
    },
  };
}
