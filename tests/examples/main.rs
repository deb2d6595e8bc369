//! The top-level examples, run small and checked: each module includes one
//! example's source and asserts what it prints it has learned or computed.

mod cells;
mod char_lm;
mod classify;
mod copy_memory;
mod custom_cell;
mod long_range;
mod seed_walkthrough;
mod tagging;
mod translate;
