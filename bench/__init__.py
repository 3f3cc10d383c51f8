"""`make bench`: load tests of the read API against the floor of the stack (see README.md)."""
