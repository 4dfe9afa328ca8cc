"""The ``mios`` command line: thin commands that parse, call one handler and render."""
