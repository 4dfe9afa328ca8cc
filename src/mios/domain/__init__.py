"""Pure domain types and their behaviour: no I/O, no frameworks."""
