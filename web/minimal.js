// A minimal client of the /ws protocol, until the animated page exists.
const $ = (id) => document.getElementById(id);
const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);

const scenarios = await (await fetch("/api/scenarios")).json();
for (const s of scenarios) $("scenario").append(new Option(s.title, s.id));

socket.onopen = () => { $("status").textContent = "Ready."; };
socket.onclose = () => { $("status").textContent = "Connection lost: reload the page."; };
socket.onmessage = ({ data }) => {
  const message = JSON.parse(data);
  if (message.type === "events") {
    $("log").textContent += message.events.map((e) => JSON.stringify(e)).join("\n") + "\n";
  } else if (message.type === "status") {
    $("status").textContent = message.state === "queued" ? `Waiting in line (position ${message.position})…`
      : message.state === "running" ? "Running…" : `Finished: ${message.status}.`;
  } else if (message.type === "error") {
    $("status").textContent = `Error: ${message.message}`;
  }
};
$("run").onclick = () => {
  $("log").textContent = "";
  socket.send(JSON.stringify({ op: "run", scenario: $("scenario").value, blocking: $("blocking").checked }));
};
$("stop").onclick = () => socket.send(JSON.stringify({ op: "stop" }));
