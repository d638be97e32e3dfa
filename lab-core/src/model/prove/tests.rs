//! The proof on small questions whose answers are known.
