//! Many labs at once: a classroom's names, isolation pairs and handouts (`class`), and every lab
//! of an account found by its tags (`sweep`).

pub mod class;
pub mod sweep;
