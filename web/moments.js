// The key moments where playback pauses itself when "pause at key moments" is on: the first time the
// loop is blocked, a task of the program finishing (each one when the run has at most MANY_TASKS of
// them, else only the first), and the run's end. Pure: node tests it without a browser.

export const MANY_TASKS = 6;

// What is known of a trace that may still grow; `reason(i)` says why playback pauses at event i, or null.
export function createMoments() {
  let events = [];
  let seen = 0;
  const internal = new Set(); // asyncio's own tasks
  let tasks = 0; // the program's tasks
  let firstBlock = -1;
  const doneAt = []; // indexes of the program's tasks' task.done events
  const runningAt = []; // index of the handle.begin whose callback runs at each event, or -1

  const moments = {
    extend(all) {
      events = all;
      for (; seen < events.length; seen += 1) {
        const event = events[seen];
        const before = seen > 0 ? runningAt[seen - 1] : -1;
        runningAt.push(event.kind === "handle.begin" ? seen : before !== -1 && events[seen - 1].kind === "handle.end" ? -1 : before);
        if (event.kind === "task.new") {
          if (event.internal) internal.add(event.task);
          else tasks += 1;
        } else if (event.kind === "loop.blocked" && firstBlock === -1) firstBlock = seen;
        else if (event.kind === "task.done" && !internal.has(event.task)) doneAt.push(seen);
      }
      return moments;
    },
    reason(index) {
      const event = events[index];
      if (!event || index >= seen) return null;
      if (event.kind === "run.end") return "the run is over";
      if (event.kind === "loop.blocked") return index === firstBlock ? "the loop is blocked for the first time" : null;
      if (event.kind !== "task.done" || internal.has(event.task) || inFirstBlock(index)) return null;
      // With many tasks, only the first end that pauses (not one inside the first block's callback).
      return tasks <= MANY_TASKS || index === doneAt.find((at) => !inFirstBlock(at)) ? "a task finished" : null;
    },
  };

  // A task that ends inside the callback that first blocks the loop: the block's pause, a moment
  // later, says more.
  function inFirstBlock(index) {
    return firstBlock > index && runningAt[firstBlock] === runningAt[index] && runningAt[index] !== -1;
  }
  return moments;
}
