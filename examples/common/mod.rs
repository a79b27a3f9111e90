//! What the examples show a person, kept out of the tutorial: the progress bar (a
//! [`Callback`](ferronet::Callback)). The library itself prints and draws nothing.

pub mod progress;
