// Share links: the code and the mode, deflated and base64url-encoded into the URL fragment.
// Nothing is stored on the server; the fragment never even reaches it.

async function pipe(bytes, transform) {
  const stream = new Blob([bytes]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function toBase64Url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

export async function encodeShare({ code, blocking }) {
  const packed = await pipe(new TextEncoder().encode(code), new CompressionStream("deflate-raw"));
  return `#code=${toBase64Url(packed)}${blocking ? "&blocking=1" : ""}`;
}

// {code, blocking} from a fragment made by encodeShare, or null when there is none (or it is damaged).
export async function decodeShare(fragment) {
  const fields = new URLSearchParams(fragment.replace(/^#/, ""));
  if (!fields.has("code")) return null;
  try {
    const bytes = await pipe(fromBase64Url(fields.get("code")), new DecompressionStream("deflate-raw"));
    return { code: new TextDecoder().decode(bytes), blocking: fields.get("blocking") === "1" };
  } catch {
    return null;
  }
}
