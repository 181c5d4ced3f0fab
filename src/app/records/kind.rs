//! The formats an input can be read as.

/// A runtime's record format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `TIMESTAMP STREAM P|F CONTENT` (containerd, CRI-O).
    Cri,
    /// `{"log":"…","stream":"…","time":"…"}` (Docker's json-file).
    DockerJson,
}

/// What an input is: bytes, or records of a runtime's format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InputFormat {
    /// Bytes, scanned as they are.
    #[default]
    Plain,
    /// Records of a runtime's format.
    Records(Kind),
}
