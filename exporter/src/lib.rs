//! (next) Trained generators to standard ONNX.
