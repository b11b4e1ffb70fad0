// The WebSocket to /ws, reconnecting with a growing pause; tells the page when it is up or down.
export function connect({ onMessage, onState }) {
  let socket = null;
  let delay = 500;
  let closedOnPurpose = false;

  function open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.onopen = () => { delay = 500; onState("open"); };
    socket.onmessage = ({ data }) => onMessage(JSON.parse(data));
    socket.onclose = () => {
      onState("closed");
      if (closedOnPurpose) return;
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 8000);
    };
  }

  open();
  return {
    send(message) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(message));
      return true;
    },
    close() { closedOnPurpose = true; socket.close(); },
  };
}
