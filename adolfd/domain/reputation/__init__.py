"""Pure rules of the reputation module: plain values in, decisions out; no I/O, no clock."""
