"""The event stream: its schema (`schema.py`, public) and the wire from the sandbox to the runner (`wire.py`)."""
