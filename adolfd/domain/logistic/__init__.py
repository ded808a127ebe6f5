"""Pure rules of the logistic module: plain values in, decisions out; no I/O, no clock."""
