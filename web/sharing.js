// Copy on write for the fold's states (state.js, coach.js): a state and the checkpoints taken from it
// share their parts (the tasks map, each task, the queues, ...). A state changes in place only the
// parts it copied itself since its last checkpoint; any other part it copies first, shallowly. A
// checkpoint costs one shallow copy instead of a clone of everything (a clone of a 2,000-task state
// took 20-40 ms here), and holds only what changed since the one before.

const madeBy = new WeakMap(); // an owner (a state) -> the parts it may change in place (a Set: a WeakSet cost 3x more here)
let lastOwner = null; // (the same state asks thousands of times in a row)
let lastMade = null;

function madeFor(owner) {
  if (owner !== lastOwner) {
    lastMade = madeBy.get(owner);
    if (!lastMade) madeBy.set(owner, (lastMade = new Set()));
    lastOwner = owner;
  }
  return lastMade;
}

// `parent[key]`, made safe for `owner` to change in place. `parent` must be safe already (the state itself is).
export function writable(owner, parent, key) {
  const part = parent[key];
  const made = madeFor(owner);
  if (made.has(part)) return part;
  const copy = Array.isArray(part) ? part.slice() : { ...part };
  made.add(copy);
  parent[key] = copy;
  return copy;
}

// A part `owner` just made (not yet in any checkpoint): changed in place until the next checkpoint.
export function fresh(owner, part) {
  madeFor(owner).add(part);
  return part;
}

// A checkpoint of `state`: from now on, `state` copies any part before it changes it.
export function checkpoint(state) {
  madeBy.delete(state);
  if (lastOwner === state) lastOwner = null;
  return { ...state };
}

// A state to fold on from a checkpoint, which stays as it was.
export function resume(saved) {
  return { ...saved };
}

// Remove `id` from the list `parent[key]`; its former place, or -1 (nothing copied then).
export function removeFrom(owner, parent, key, id) {
  const at = parent[key].indexOf(id);
  if (at >= 0) writable(owner, parent, key).splice(at, 1);
  return at;
}
