"""Pure rules of the marketing module: plain values in, decisions out; no I/O, no clock."""
