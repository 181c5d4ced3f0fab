//! The real binary: stdin, files, errors, pipes.
