// Your own code: the kept editor, share links, and whether this server lets own code run.
import { createEditor } from "./editor.js";
import { encodeShare } from "./share.js";

export const OWN = "own"; // the picker's value for "your own code"
export const EXAMPLE = `import asyncio


async def greet(name, seconds):
    await asyncio.sleep(seconds)
    print("hello", name)


async def main():
    await asyncio.gather(greet("slow", 2), greet("fast", 1))


asyncio.run(main())
`;
export const BLOCKING_NOTE = "Blocking mode for your code: every `await asyncio.sleep(x)` holds the loop like "
  + "`time.sleep(x)` would, on the same line. The sandbox does this by replacing asyncio.sleep while your "
  + "program runs; your text is not changed.";
const KEY = "loopscope:code";

// The editor, starting from the text kept in local storage (or an example), keeping every change.
export function createKeptEditor(parent, onChange) {
  let timer = null;
  return createEditor(parent, localStorage.getItem(KEY) || EXAMPLE, (text) => {
    clearTimeout(timer);
    timer = setTimeout(() => localStorage.setItem(KEY, text), 300);
    onChange(text);
  });
}

// A shared link is about to replace the editor's text: the text kept here before, if it differs
// (it is kept under a key of its own too, so neither is lost), or null.
export function keepBeforeShare(sharedCode) {
  const mine = localStorage.getItem(KEY);
  if (mine === null || mine === sharedCode || mine === EXAMPLE) return null;
  localStorage.setItem(`${KEY}:before-share`, mine);
  return mine;
}

// Put the code and mode in the page's URL fragment; {url, copied} (copied to the clipboard).
export async function shareLink(code, blocking) {
  const fragment = await encodeShare({ code, blocking });
  history.replaceState(null, "", `?scenario=${OWN}${blocking ? "&blocking=1" : ""}${fragment}`);
  try {
    await navigator.clipboard.writeText(location.href);
    return { url: location.href, copied: true };
  } catch {
    return { url: location.href, copied: false };
  }
}

// What to tell the user about running their own code here: {text, warning, allowed}, or null.
export function availability(health) {
  const sandbox = health && health.sandbox;
  if (!sandbox) return null;
  if (!sandbox.own_code) {
    return { text: `Running your own code is disabled on this server: ${sandbox.description}.`, warning: true,
      allowed: false };
  }
  if (sandbox.trusted) {
    return { text: "This server was started with --trust-code: your code runs WITHOUT the full sandbox.",
      warning: true, allowed: true };
  }
  return { text: "Your code runs in the sandbox: no files, no network outside, no other processes, "
    + "limited memory and time.", warning: false, allowed: true };
}
