"""The WebSocket's compression (permessage-deflate) at zlib's fastest level.

Browsers offer permessage-deflate and simple-websocket (1.1.0) accepts it with wsproto's
(1.3.2) default, zlib's level 6: for this server's messages, mostly events, that cost 1.5 to
2.1 µs of CPU per event, a third or more on top of the 5 µs of the rest of the server's work on
an event, and a client that does not offer it (the benchmarks', the tests') saw none of that
cost. Level 1 compresses the same messages 12x and 7.8x rather than 15x and 10x, in a third to
a quarter of the time (see docs/benchmarks.md), the trade most WebSocket servers make by default
(e.g. gorilla/websocket's level 1): the bytes a slow network carries stay few, and the server's
CPU goes to events.
"""

import zlib

import simple_websocket.ws
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import Opcode

LEVEL = 1


class QuickDeflate(PerMessageDeflate):
    """wsproto's permessage-deflate, its compressor made at `LEVEL` (wsproto makes one when a
    message begins and none is kept: the first message, or each one without context takeover)."""

    def frame_outbound(self, proto, opcode, rsv, data, fin):
        if self._compressor is None and opcode in (Opcode.TEXT, Opcode.BINARY):
            bits = self.client_max_window_bits if proto.client else self.server_max_window_bits
            self._compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -int(bits))
        return super().frame_outbound(proto, opcode, rsv, data, fin)


def install():
    """The server accepts permessage-deflate as QuickDeflate from now on (simple-websocket
    names the class when it accepts a connection, with no option to choose another)."""
    simple_websocket.ws.PerMessageDeflate = QuickDeflate
